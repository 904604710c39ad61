package actions

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// GitHub's filter patterns (paths, paths-ignore, branches, branches-ignore,
// and fix-status's own `paths` rules) are not shell globs: `?` and `+` repeat
// the preceding character like in a regular expression, so neither
// filepath.Match nor doublestar implements them. Each pattern is compiled
// once into an anchored Go regexp.

// Glob is one compiled GitHub filter pattern. It is safe for concurrent use.
type Glob struct {
	pattern string
	re      *regexp.Regexp
	// literal is set when the pattern has no special character: Match is
	// then a string comparison.
	literal bool
	// prefix and suffix are literal text every match starts and ends with;
	// checking them first rejects most paths without running the regexp.
	prefix, suffix string
	// middle says what lies between prefix and suffix when that is simple
	// enough to match without the regexp.
	middle globMiddle
}

// globMiddle is the part of a pattern between its literal prefix and suffix.
type globMiddle int

const (
	globMiddleRegexp  globMiddle = iota // anything else: run the regexp
	globMiddleAny                       // `**` (or `**/*`): any text
	globMiddleSegment                   // `*`: any text without a `/`
)

// PatternError is an invalid pattern or pattern list.
type PatternError struct {
	// Index is the pattern's position in its list (0 for CompileGlob), or -1
	// when the list as a whole is invalid.
	Index int
	// Pattern is the invalid pattern as written (empty when Index is -1).
	Pattern string
	// Problem says what is wrong, e.g. "missing ]".
	Problem string
}

func (e *PatternError) Error() string {
	if e.Index < 0 {
		return e.Problem
	}
	return fmt.Sprintf("invalid pattern %q: %s", e.Pattern, e.Problem)
}

// CompileGlob compiles one GitHub filter pattern:
//
//   - `*` matches any characters except `/`
//   - `**` matches any characters including `/`; `**/` also matches no
//     directory at all, so `**/README.md` matches `README.md`
//   - `?` matches zero or one, `+` one or more, of the preceding character
//     or character class
//   - `[...]` matches one character listed or in a range (`[a-z0-9]`)
//   - `\` makes the next character literal
//   - everything else, `.` included, is literal
//
// The pattern must match the whole path. A leading `!` is literal here:
// negation belongs to pattern lists (CompilePatterns).
func CompileGlob(pattern string) (*Glob, error) {
	g, problem := globCompile(pattern)
	if problem != "" {
		return nil, &PatternError{Pattern: pattern, Problem: problem}
	}
	return g, nil
}

// Match reports whether the pattern matches the whole of path.
func (g *Glob) Match(path string) bool {
	if g.literal {
		return path == g.prefix
	}
	if len(path) < len(g.prefix)+len(g.suffix) || !strings.HasPrefix(path, g.prefix) || !strings.HasSuffix(path, g.suffix) {
		return false
	}
	switch g.middle {
	case globMiddleAny:
		return true
	case globMiddleSegment:
		return !strings.Contains(path[len(g.prefix):len(path)-len(g.suffix)], "/")
	}
	return g.re.MatchString(path)
}

// String returns the pattern as written.
func (g *Glob) String() string { return g.pattern }

// globCompile translates pattern into a regexp, or returns a problem.
func globCompile(pattern string) (*Glob, string) {
	if pattern == "" {
		return nil, "empty pattern"
	}
	if !utf8.ValidString(pattern) {
		return nil, "not valid UTF-8"
	}
	var (
		re strings.Builder
		// run is the literal text since the last special token; it becomes
		// the prefix when no special token came before it, and the suffix
		// when none comes after it.
		run        strings.Builder
		prefix     string
		prefixDone bool
		special    bool
		// repeatable: the last token is a character or class that `?` or
		// `+` may repeat.
		repeatable bool
		// onlyStars: `*` and `**` are the only special tokens, so the
		// regexp between the prefix and the suffix, re[midStart:midEnd],
		// can be recognised.
		onlyStars        = true
		midStart, midEnd int
	)
	endRun := func() {
		if !prefixDone {
			prefix, prefixDone = run.String(), true
			midStart = re.Len()
		}
		run.Reset()
	}
	re.WriteString(`(?s)^`)
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '*':
			special, repeatable = true, false
			endRun()
			switch {
			case i+1 < len(rs) && rs[i+1] == '*' && i+2 < len(rs) && rs[i+2] == '/':
				re.WriteString(`(?:.*/)?`)
				i += 2
			case i+1 < len(rs) && rs[i+1] == '*':
				re.WriteString(`.*`)
				i++
			default:
				re.WriteString(`[^/]*`)
			}
			midEnd = re.Len()
		case '?', '+':
			if !repeatable {
				return nil, fmt.Sprintf("%q must follow a character or a [class]", c)
			}
			special, repeatable, onlyStars = true, false, false
			// The repeated character may be absent (?) or repeated (+):
			// it no longer belongs to a fixed prefix or suffix.
			if c == '?' || prefixDone {
				globDropLastRune(&run)
			}
			endRun()
			re.WriteRune(c)
		case '[':
			class, n, problem := globClass(rs[i+1:])
			if problem != "" {
				return nil, problem
			}
			special, repeatable, onlyStars = true, true, false
			endRun()
			re.WriteString(class)
			i += n
		case '\\':
			if i+1 == len(rs) {
				return nil, `trailing \`
			}
			i++
			re.WriteString(regexp.QuoteMeta(string(rs[i])))
			run.WriteRune(rs[i])
			repeatable = true
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
			run.WriteRune(c)
			repeatable = true
		}
	}
	re.WriteString(`$`)
	g := &Glob{pattern: pattern}
	if special {
		g.prefix, g.suffix = prefix, run.String()
		if onlyStars {
			switch re.String()[midStart:midEnd] {
			case `.*`, `(?:.*/)?[^/]*`:
				g.middle = globMiddleAny
			case `[^/]*`:
				g.middle = globMiddleSegment
			}
		}
	} else {
		g.literal, g.prefix = true, run.String()
	}
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		// Cannot happen for the regexps built above; reported rather
		// than panicking so a bad pattern never takes the server down.
		return nil, err.Error()
	}
	g.re = compiled
	return g, ""
}

// globClass translates the character class after a `[` (rs starts after
// it) and returns the regexp class and how many runes it consumed,
// including the closing `]`.
func globClass(rs []rune) (string, int, string) {
	if len(rs) > 0 && (rs[0] == '^' || rs[0] == '!') {
		// GitHub documents no negated classes; refuse rather than guess.
		return "", 0, "negated character classes are not supported"
	}
	// next returns the character at i (after a `\`, the escaped one) and
	// the index after it; ok is false at the end of the pattern.
	next := func(i int) (c rune, after int, ok bool) {
		if i < len(rs) && rs[i] == '\\' {
			i++
		}
		if i >= len(rs) {
			return 0, i, false
		}
		return rs[i], i + 1, true
	}
	var b strings.Builder
	b.WriteByte('[')
	empty := true
	i := 0
	for i < len(rs) && rs[i] != ']' {
		lo, after, ok := next(i)
		if !ok {
			return "", 0, "missing ]"
		}
		i = after
		hi := lo
		// A range: `a-z`. A `-` first or last in the class is literal.
		if i+1 < len(rs) && rs[i] == '-' && rs[i+1] != ']' {
			if hi, after, ok = next(i + 1); !ok {
				return "", 0, "missing ]"
			}
			i = after
			if hi < lo {
				return "", 0, fmt.Sprintf("invalid range %c-%c", lo, hi)
			}
		}
		b.WriteString(globClassRune(lo))
		if hi != lo {
			b.WriteByte('-')
			b.WriteString(globClassRune(hi))
		}
		empty = false
	}
	if i >= len(rs) {
		return "", 0, "missing ]"
	}
	if empty {
		return "", 0, "empty []"
	}
	b.WriteByte(']')
	return b.String(), i + 1, ""
}

// globClassRune writes c so that it is literal inside a regexp class.
func globClassRune(c rune) string {
	switch c {
	case '\\', ']', '[', '^', '-':
		return `\` + string(c)
	}
	return string(c)
}

// globDropLastRune removes the last rune from b.
func globDropLastRune(b *strings.Builder) {
	s := b.String()
	_, n := utf8.DecodeLastRuneInString(s)
	b.Reset()
	b.WriteString(s[:len(s)-n])
}

// PatternList is an ordered list of GitHub filter patterns where a pattern
// starting with `!` excludes what earlier patterns matched and a later
// positive pattern includes it again: the last pattern that matches a path
// decides. It is safe for concurrent use.
type PatternList struct {
	items []patternItem
}

type patternItem struct {
	raw    string // as written, with its `!`
	glob   *Glob
	negate bool
}

// CompilePatterns compiles patterns in order. A `!` starts a negated pattern
// (write `\!` for a literal one); a list with a negated pattern must also
// have a positive one, as GitHub requires. Errors are *PatternError.
func CompilePatterns(patterns []string) (*PatternList, error) {
	l := &PatternList{items: make([]patternItem, 0, len(patterns))}
	negated, positive := false, false
	for i, p := range patterns {
		it := patternItem{raw: p}
		body := p
		if strings.HasPrefix(p, "!") {
			it.negate, body = true, p[1:]
		}
		g, problem := globCompile(body)
		if problem != "" {
			return nil, &PatternError{Index: i, Pattern: p, Problem: problem}
		}
		it.glob = g
		negated = negated || it.negate
		positive = positive || !it.negate
		l.items = append(l.items, it)
	}
	if negated && !positive {
		return nil, &PatternError{Index: -1, Problem: `a list with a "!" pattern needs a pattern without "!" too`}
	}
	return l, nil
}

// Match reports whether the list selects s.
func (l *PatternList) Match(s string) bool {
	_, ok := l.MatchPattern(s)
	return ok
}

// MatchPattern reports whether the list selects s and, when it does, the
// pattern that selected it.
func (l *PatternList) MatchPattern(s string) (string, bool) {
	// The last matching pattern decides, so search from the end.
	for i := len(l.items) - 1; i >= 0; i-- {
		it := &l.items[i]
		if it.glob.Match(s) {
			if it.negate {
				return "", false
			}
			return it.raw, true
		}
	}
	return "", false
}

// Len returns the number of patterns.
func (l *PatternList) Len() int { return len(l.items) }

// Patterns returns the patterns as written.
func (l *PatternList) Patterns() []string {
	out := make([]string, len(l.items))
	for i, it := range l.items {
		out[i] = it.raw
	}
	return out
}

// String returns the list for messages, e.g. "[src/**, !src/docs/**]",
// shortened to "[a, b, +3 more]" when long so a reason stays within
// GitHub's 140 characters.
func (l *PatternList) String() string {
	const budget = 60
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range l.items {
		if i > 0 && b.Len()+len(it.raw) > budget {
			fmt.Fprintf(&b, ", +%d more", len(l.items)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.raw)
	}
	b.WriteByte(']')
	return b.String()
}
