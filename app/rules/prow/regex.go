package prow

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// regex is a compiled Prow regex. Matching is an unanchored search
// (MatchString), exactly as Prow does. Most real run_if_changed and
// skip_if_only_changed patterns are literal prefixes, suffixes and
// alternations of them (`^docs/`, `\.md$`, `^(cmd|pkg)/`); those are matched
// with string operations, which matters when hundreds of jobs each scan
// thousands of changed files. FuzzRegex checks the two agree.
type regex struct {
	re  *regexp.Regexp
	err error
	// alts is the pattern as a list of alternatives, nil when it has a
	// construct the fast path does not handle (or matcher was not called).
	alts     []literalAlt
	altsDone bool
}

func newRegex(expr string) *regex {
	re, err := regexp.Compile(expr)
	if err != nil {
		return &regex{err: err}
	}
	return &regex{re: re}
}

// matcher prepares the fast path of a regex that is matched against branch
// or file names (triggers never are), once.
func (r *regex) matcher() *regex {
	if r == nil || r.err != nil || r.altsDone {
		return r
	}
	r.altsDone = true
	if syn, err := syntax.Parse(r.re.String(), syntax.Perl); err == nil {
		r.alts = alternatives(syn)
	}
	return r
}

func (r *regex) match(s string) bool {
	// `.` and `.*` stop at a line break unless (?s) is set: leave such
	// (rare) names to the regexp engine rather than model both.
	if r.alts == nil || strings.IndexByte(s, '\n') >= 0 {
		return r.re.MatchString(s)
	}
	for i := range r.alts {
		if r.alts[i].match(s) {
			return true
		}
	}
	return false
}

// literalAlt is one alternative of the fast path: literal segments separated by
// `.*`, optionally anchored at the start (^) and at the end ($).
type literalAlt struct {
	start, end bool
	segs       []string
}

// match finds each segment leftmost after the previous one; the earliest
// placement leaves the most room for the rest, so this decides the match.
func (a *literalAlt) match(s string) bool {
	segs := a.segs
	if len(segs) == 1 {
		switch {
		case a.start && a.end:
			return s == segs[0]
		case a.start:
			return strings.HasPrefix(s, segs[0])
		case a.end:
			return strings.HasSuffix(s, segs[0])
		}
		return strings.Contains(s, segs[0])
	}
	pos := 0
	if a.start {
		if !strings.HasPrefix(s, segs[0]) {
			return false
		}
		pos = len(segs[0])
	} else {
		i := strings.Index(s, segs[0])
		if i < 0 {
			return false
		}
		pos = i + len(segs[0])
	}
	last := len(segs) - 1
	for _, seg := range segs[1:last] {
		i := strings.Index(s[pos:], seg)
		if i < 0 {
			return false
		}
		pos += i + len(seg)
	}
	if a.end {
		return len(s)-len(segs[last]) >= pos && strings.HasSuffix(s, segs[last])
	}
	return strings.Contains(s[pos:], segs[last])
}

// maxAlts bounds the alternatives a pattern expands to (`(a|b)(c|d)`
// gives four); beyond it the regexp engine is as good.
const maxAlts = 16

// token is one element of an expanded alternative.
type token struct {
	kind byte // 'l' literal, '*' any run of characters, '^' start, '$' end
	lit  string
}

// alternatives expands a parsed regex into alternatives of literals,
// `.*`, `^` and `$`, or returns nil.
func alternatives(re *syntax.Regexp) []literalAlt {
	seqs, ok := expand(re)
	if !ok {
		return nil
	}
	alts := make([]literalAlt, 0, len(seqs))
	for _, seq := range seqs {
		alt, possible, ok := altOf(seq)
		if !ok {
			return nil
		}
		if possible {
			alts = append(alts, alt)
		}
	}
	if len(alts) == 0 {
		// Nothing can match; let the regexp engine say so.
		return nil
	}
	return alts
}

// expand returns the token sequences re matches, as alternatives.
func expand(re *syntax.Regexp) ([][]token, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		for _, r := range re.Rune {
			// A literal U+FFFD also matches invalid UTF-8 in the input,
			// which byte comparison would not.
			if r == utf8.RuneError {
				return nil, false
			}
		}
		return [][]token{{{kind: 'l', lit: string(re.Rune)}}}, true
	case syntax.OpEmptyMatch:
		return [][]token{{}}, true
	case syntax.OpBeginText:
		return [][]token{{{kind: '^'}}}, true
	case syntax.OpEndText:
		return [][]token{{{kind: '$'}}}, true
	case syntax.OpStar:
		if op := re.Sub[0].Op; op == syntax.OpAnyCharNotNL || op == syntax.OpAnyChar {
			return [][]token{{{kind: '*'}}}, true
		}
		return nil, false
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpQuest:
		seqs, ok := expand(re.Sub[0])
		if !ok || len(seqs)+1 > maxAlts {
			return nil, false
		}
		return append(seqs, nil), true
	case syntax.OpAlternate:
		var out [][]token
		for _, sub := range re.Sub {
			seqs, ok := expand(sub)
			if !ok || len(out)+len(seqs) > maxAlts {
				return nil, false
			}
			out = append(out, seqs...)
		}
		return out, true
	case syntax.OpConcat:
		out := [][]token{{}}
		for _, sub := range re.Sub {
			seqs, ok := expand(sub)
			if !ok || len(out)*len(seqs) > maxAlts {
				return nil, false
			}
			next := make([][]token, 0, len(out)*len(seqs))
			for _, a := range out {
				for _, b := range seqs {
					seq := make([]token, 0, len(a)+len(b))
					next = append(next, append(append(seq, a...), b...))
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// altOf turns a token sequence into an alternative. possible is false
// when the sequence can never match (a literal before ^ or after $); ok is
// false when the fast path does not model it ($ before ^).
func altOf(seq []token) (alt literalAlt, possible, ok bool) {
	// Zero-width ^ holds only where nothing was consumed: whatever stands
	// before it (stars) matched empty and can go. Likewise after $.
	first, last := 0, len(seq)
	for i, t := range seq {
		switch {
		case t.kind == '^':
			for _, u := range seq[:i] {
				if u.kind == '$' {
					return alt, false, false
				}
				if u.kind == 'l' && u.lit != "" {
					return alt, false, true
				}
			}
			alt.start, first = true, i+1
		case t.kind == '$' && !alt.end:
			alt.end, last = true, i
		}
	}
	if alt.end {
		for _, u := range seq[last:] {
			if u.kind == '^' {
				return alt, false, false
			}
			if u.kind == 'l' && u.lit != "" {
				return alt, false, true
			}
		}
	}
	if first > last {
		return alt, false, false
	}
	var cur strings.Builder
	for _, t := range seq[first:last] {
		switch t.kind {
		case 'l':
			cur.WriteString(t.lit)
		case '*':
			alt.segs = append(alt.segs, cur.String())
			cur.Reset()
		}
	}
	alt.segs = append(alt.segs, cur.String())
	return alt, true, true
}
