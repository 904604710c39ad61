package actions

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// globCase is one pattern list with the paths it must and must not select.
type globCase struct {
	name     string
	patterns []string
	match    []string
	noMatch  []string
}

func runGlobCases(t *testing.T, cases []globCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := CompilePatterns(tc.patterns)
			if err != nil {
				t.Fatalf("CompilePatterns(%q): %v", tc.patterns, err)
			}
			var got, want []string
			for _, p := range tc.match {
				want = append(want, p+" selected")
				got = append(got, p+globSelected(l.Match(p)))
			}
			for _, p := range tc.noMatch {
				want = append(want, p+" not selected")
				got = append(got, p+globSelected(l.Match(p)))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("patterns %q (-want +got):\n%s", tc.patterns, diff)
			}
		})
	}
}

func globSelected(ok bool) string {
	if ok {
		return " selected"
	}
	return " not selected"
}

// The "Filter pattern cheat sheet" of GitHub's workflow syntax docs: every
// pattern with its example matches, and the non-matches the docs list (for
// negation) or state in words (e.g. "does not match /").
func TestGlobCheatSheetBranches(t *testing.T) {
	runGlobCases(t, []globCase{
		{name: "feature/*", patterns: []string{"feature/*"},
			match:   []string{"feature/my-branch", "feature/your-branch"},
			noMatch: []string{"feature/beta-a/my-branch", "feature", "my-feature/x"}},
		{name: "feature/**", patterns: []string{"feature/**"},
			match:   []string{"feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"},
			noMatch: []string{"feature", "features/x", "x/feature/y"}},
		{name: "exact names", patterns: []string{"main", "releases/mona-the-octocat"},
			match:   []string{"main", "releases/mona-the-octocat"},
			noMatch: []string{"main2", "releases/mona", "xmain"}},
		{name: "'*'", patterns: []string{"*"},
			match:   []string{"main", "releases"},
			noMatch: []string{"releases/v1", "all/the/branches"}},
		{name: "'**'", patterns: []string{"**"},
			match: []string{"all/the/branches", "every/tag", "main"}},
		{name: "'*feature'", patterns: []string{"*feature"},
			match:   []string{"mona-feature", "feature", "ver-10-feature"},
			noMatch: []string{"feature-x", "a/feature"}},
		{name: "v2*", patterns: []string{"v2*"},
			match:   []string{"v2", "v2.0", "v2.9"},
			noMatch: []string{"v1.0", "v2/x", "xv2"}},
		{name: "v[12].[0-9]+.[0-9]+", patterns: []string{"v[12].[0-9]+.[0-9]+"},
			match:   []string{"v1.10.1", "v2.0.0"},
			noMatch: []string{"v3.0.0", "v1.0", "v1.x.0", "v1..0"}},
	})
}

func TestGlobCheatSheetPaths(t *testing.T) {
	runGlobCases(t, []globCase{
		{name: "'*'", patterns: []string{"*"},
			match:   []string{"README.md", "server.rb"},
			noMatch: []string{"docs/README.md"}},
		{name: "'*.jsx?'", patterns: []string{"*.jsx?"},
			match:   []string{"page.js", "page.jsx"},
			noMatch: []string{"page.jsxx", "page.j", "src/page.js"}},
		{name: "'**'", patterns: []string{"**"},
			match: []string{"all/the/files.md", "README.md"}},
		{name: "'*.js'", patterns: []string{"*.js"},
			match:   []string{"app.js", "index.js"},
			noMatch: []string{"js/index.js", "app.jsx", "appxjs"}},
		{name: "'**.js'", patterns: []string{"**.js"},
			match:   []string{"index.js", "js/index.js", "src/js/app.js"},
			noMatch: []string{"index.jsx", "src/js"}},
		{name: "docs/*", patterns: []string{"docs/*"},
			match:   []string{"docs/README.md", "docs/file.txt"},
			noMatch: []string{"docs/mona/octocat.txt", "README.md", "src/docs/file.txt"}},
		{name: "docs/**", patterns: []string{"docs/**"},
			match:   []string{"docs/README.md", "docs/mona/octocat.txt"},
			noMatch: []string{"README.md", "src/docs/file.txt", "docs"}},
		{name: "docs/**/*.md", patterns: []string{"docs/**/*.md"},
			match:   []string{"docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"},
			noMatch: []string{"docs/file.txt", "README.md", "src/docs/a.md"}},
		{name: "'**/docs/**'", patterns: []string{"**/docs/**"},
			match:   []string{"docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"},
			noMatch: []string{"mydocs/a.md", "docs", "README.md"}},
		{name: "'**/README.md'", patterns: []string{"**/README.md"},
			match:   []string{"README.md", "js/README.md"},
			noMatch: []string{"README.txt", "js/MY-README.md"}},
		{name: "'**/*src/**'", patterns: []string{"**/*src/**"},
			match:   []string{"a/src/app.js", "my-src/code/js/app.js"},
			noMatch: []string{"src-a/app.js", "a/src"}},
		{name: "'**/*-post.md'", patterns: []string{"**/*-post.md"},
			match:   []string{"my-post.md", "path/their-post.md"},
			noMatch: []string{"post.md", "path/my-post.txt"}},
		{name: "'**/migrate-*.sql'", patterns: []string{"**/migrate-*.sql"},
			match:   []string{"migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"},
			noMatch: []string{"db/migrate.sql", "db/migrate-v1/x.sql"}},
		{name: "*.md !README.md", patterns: []string{"*.md", "!README.md"},
			match:   []string{"hello.md"},
			noMatch: []string{"README.md", "docs/hello.md"}},
		{name: "*.md !README.md README*", patterns: []string{"*.md", "!README.md", "README*"},
			match:   []string{"hello.md", "README.md", "README.doc"},
			noMatch: []string{"docs/hello.md"}},
	})
}

func TestGlobSemantics(t *testing.T) {
	runGlobCases(t, []globCase{
		{name: "dot is literal", patterns: []string{"a.go"},
			match: []string{"a.go"}, noMatch: []string{"axgo"}},
		{name: "anchored", patterns: []string{"src"},
			match: []string{"src"}, noMatch: []string{"src/a", "a/src", "srcs"}},
		{name: "? repeats zero or one", patterns: []string{"colou?r"},
			match: []string{"color", "colour"}, noMatch: []string{"colouur", "colr"}},
		{name: "+ repeats one or more", patterns: []string{"ab+c"},
			match: []string{"abc", "abbbc"}, noMatch: []string{"ac", "abxc"}},
		{name: "? after a class", patterns: []string{"v[0-9]?"},
			match: []string{"v", "v1"}, noMatch: []string{"v12", "vx"}},
		{name: "+ after a class", patterns: []string{"[a-c]+.txt"},
			match: []string{"a.txt", "abcab.txt"}, noMatch: []string{".txt", "d.txt"}},
		{name: "? after an escape", patterns: []string{`a\*?b`},
			match: []string{"ab", "a*b"}, noMatch: []string{"axb", "a**b"}},
		{name: "class with list and ranges", patterns: []string{"[CB]at", "[1-2]00", "x[0-9a-z]"},
			match: []string{"Cat", "Bat", "100", "200", "x7", "xq"}, noMatch: []string{"cat", "300", "xQ"}},
		{name: "class escapes", patterns: []string{`[\]\-]`},
			match: []string{"]", "-"}, noMatch: []string{`\`, "a"}},
		{name: "literal dash at the class edges", patterns: []string{"[-a]", "[b-]"},
			match: []string{"-", "a", "b"}, noMatch: []string{"c"}},
		{name: "escapes", patterns: []string{`\*.md`, `\[x\]`, `a\?`, `a\+`, `\\`},
			match:   []string{"*.md", "[x]", "a?", "a+", `\`},
			noMatch: []string{"a.md", "x", "a", "aa"}},
		{name: "escaped ! is a positive literal", patterns: []string{`\!file`},
			match: []string{"!file"}, noMatch: []string{"file"}},
		{name: "! inside is literal", patterns: []string{"a!b"},
			match: []string{"a!b"}},
		{name: "regexp characters are literal", patterns: []string{"(a|b){2}$^"},
			match: []string{"(a|b){2}$^"}, noMatch: []string{"aa"}},
		{name: "* does not cross /", patterns: []string{"a/*/c"},
			match: []string{"a/b/c", "a//c"}, noMatch: []string{"a/b/b/c"}},
		{name: "**/ matches no directory", patterns: []string{"a/**/c"},
			match: []string{"a/c", "a/b/c", "a/b/b/c"}, noMatch: []string{"ac", "a/bc"}},
		{name: "*** is ** then *", patterns: []string{"a***"},
			match: []string{"a", "a/b/c"}},
		{name: "newlines", patterns: []string{"**"},
			match: []string{"a\nb"}},
		{name: "unicode", patterns: []string{"dé+/*.md"},
			match: []string{"dé/a.md", "dééé/b.md"}, noMatch: []string{"d/a.md"}},
	})
}

func TestGlobOrderedNegation(t *testing.T) {
	runGlobCases(t, []globCase{
		{name: "exclude a subtree", patterns: []string{"src/**", "!src/docs/**"},
			match: []string{"src/a.go", "src/docsx/a.go"}, noMatch: []string{"src/docs/a.md", "docs/a.md"}},
		{name: "re-include", patterns: []string{"src/**", "!src/docs/**", "src/docs/api/**"},
			match: []string{"src/docs/api/x.md", "src/a.go"}, noMatch: []string{"src/docs/guide.md"}},
		{name: "a negation before the positive does not exclude it", patterns: []string{"!a.md", "*.md"},
			match: []string{"a.md", "b.md"}},
		{name: "a later negation wins", patterns: []string{"**", "!**.md", "README.md", "!README.md"},
			match: []string{"a.go"}, noMatch: []string{"README.md", "x.md"}},
	})
}

func TestGlobFastPaths(t *testing.T) {
	type shape struct {
		Literal        bool
		Prefix, Suffix string
		Middle         globMiddle
	}
	tests := []struct {
		pattern string
		want    shape
	}{
		{"src/a.go", shape{Literal: true, Prefix: "src/a.go"}},
		{`\!a`, shape{Literal: true, Prefix: "!a"}},
		{"src/**", shape{Prefix: "src/", Middle: globMiddleAny}},
		{"**.md", shape{Suffix: ".md", Middle: globMiddleAny}},
		{"**/*.md", shape{Suffix: ".md", Middle: globMiddleAny}},
		{"*.md", shape{Suffix: ".md", Middle: globMiddleSegment}},
		{"docs/*", shape{Prefix: "docs/", Middle: globMiddleSegment}},
		{"docs/**/*.md", shape{Prefix: "docs/", Suffix: ".md", Middle: globMiddleAny}},
		{"**/docs/**", shape{}},
		{"a*b*c", shape{Prefix: "a", Suffix: "c"}},
		{"ab?c/*", shape{Prefix: "a"}},
		{"ab+c/*", shape{Prefix: "ab"}},
		{"*.jsx?", shape{}},
		{"*a+", shape{}},
		{"[ab]c", shape{Suffix: "c"}},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("CompileGlob(%q): %v", tt.pattern, err)
		}
		got := shape{Literal: g.literal, Prefix: g.prefix, Suffix: g.suffix, Middle: g.middle}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("CompileGlob(%q) (-want +got):\n%s", tt.pattern, diff)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	tests := []struct {
		patterns []string
		want     string
		index    int
	}{
		{[]string{"[a-"}, `invalid pattern "[a-": missing ]`, 0},
		{[]string{"ok", "[abc"}, `invalid pattern "[abc": missing ]`, 1},
		{[]string{"a[]"}, `invalid pattern "a[]": empty []`, 0},
		{[]string{"[z-a]"}, `invalid pattern "[z-a]": invalid range z-a`, 0},
		{[]string{"[^a]"}, `invalid pattern "[^a]": negated character classes are not supported`, 0},
		{[]string{"[!a]"}, `invalid pattern "[!a]": negated character classes are not supported`, 0},
		{[]string{`a\`}, `invalid pattern "a\\": trailing \`, 0},
		{[]string{`[a\`}, `invalid pattern "[a\\": missing ]`, 0},
		{[]string{"?a"}, `invalid pattern "?a": '?' must follow a character or a [class]`, 0},
		{[]string{"*+"}, `invalid pattern "*+": '+' must follow a character or a [class]`, 0},
		{[]string{"a??"}, `invalid pattern "a??": '?' must follow a character or a [class]`, 0},
		{[]string{"**/?"}, `invalid pattern "**/?": '?' must follow a character or a [class]`, 0},
		{[]string{""}, `invalid pattern "": empty pattern`, 0},
		{[]string{"a", "!"}, `invalid pattern "!": empty pattern`, 1},
		{[]string{"\xff"}, `invalid pattern "\xff": not valid UTF-8`, 0},
		{[]string{"!a", "!b"}, `a list with a "!" pattern needs a pattern without "!" too`, -1},
	}
	for _, tt := range tests {
		_, err := CompilePatterns(tt.patterns)
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("CompilePatterns(%q) = %v, want a *PatternError", tt.patterns, err)
			continue
		}
		if pe.Error() != tt.want || pe.Index != tt.index {
			t.Errorf("CompilePatterns(%q) = [%d] %s, want [%d] %s", tt.patterns, pe.Index, pe.Error(), tt.index, tt.want)
		}
	}
	if _, err := CompileGlob("[a-"); err == nil || err.Error() != `invalid pattern "[a-": missing ]` {
		t.Errorf("CompileGlob([a-) = %v", err)
	}
}

func TestPatternListString(t *testing.T) {
	tests := []struct {
		patterns []string
		want     string
	}{
		{[]string{"src/**", "!src/docs/**"}, "[src/**, !src/docs/**]"},
		{[]string{strings.Repeat("a", 70), "b", "c"}, "[" + strings.Repeat("a", 70) + ", +2 more]"},
		{[]string{"aaaaaaaaaaaaaaaaaaaa/**", "bbbbbbbbbbbbbbbbbbbb/**", "cccccccccccccccccccc/**"}, "[aaaaaaaaaaaaaaaaaaaa/**, bbbbbbbbbbbbbbbbbbbb/**, +1 more]"},
	}
	for _, tt := range tests {
		l, err := CompilePatterns(tt.patterns)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// FuzzGlob checks that no pattern or path makes compiling or matching
// panic, and that the fast paths agree with the regexp.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"**/*.md", "v[12].[0-9]+.[0-9]+", `a\*?b`, "[a-", "*.jsx?", "!x", "[-a]", "ab+c/*"} {
		f.Add(s, "docs/a.md")
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		g, err := CompileGlob(pattern)
		if err != nil {
			return
		}
		// The prefix, suffix and literal shortcuts must agree with the
		// regexp.
		if got, want := g.Match(path), g.re.MatchString(path); got != want {
			t.Fatalf("CompileGlob(%q).Match(%q) = %v, the regexp says %v", pattern, path, got, want)
		}
		_, _ = CompilePatterns([]string{pattern, "!" + pattern, path})
	})
}
