package rules

import (
	"regexp"
	"strings"
)

// ContextPattern is the set of contexts a job whose check name cannot be
// known statically may report: alternatives of literal text with "any
// characters" between the parts, compared case-insensitively as GitHub
// compares contexts. It is safe for concurrent use.
type ContextPattern struct {
	re   *regexp.Regexp
	text string
}

// NewContextPattern returns the pattern that admits a context when one of
// the alternatives does. An alternative is a list of literal parts with any
// characters between consecutive parts: {"lint-", ""} is lint-*, {"", ""}
// admits every context, {"build"} only "build". With no alternatives it
// admits nothing. text is how messages show the pattern; empty, it is made
// of the alternatives (see String).
func NewContextPattern(text string, alternatives ...[]string) *ContextPattern {
	var re, shown strings.Builder
	re.WriteString(`(?is)^(?:`)
	for i, alt := range alternatives {
		if i > 0 {
			re.WriteByte('|')
			shown.WriteString(" or ")
		}
		for k, part := range alt {
			if k > 0 {
				re.WriteString(`.*`)
				shown.WriteByte('*')
			}
			re.WriteString(regexp.QuoteMeta(part))
			shown.WriteString(part)
		}
	}
	if len(alternatives) == 0 {
		// An empty alternation would admit the empty context.
		re.WriteString(`[^\x00-\x{10FFFF}]`)
	}
	re.WriteString(`)$`)
	// The expression is built from quoted literals: it always compiles.
	if text == "" {
		text = shown.String()
	}
	return &ContextPattern{re: regexp.MustCompile(re.String()), text: text}
}

// Match reports whether the pattern admits context.
func (p *ContextPattern) Match(context string) bool {
	return p != nil && p.re.MatchString(context)
}

// String returns the pattern for messages: the text it was made with, or a
// "*" for each run of any characters, alternatives joined by " or ":
// "lint-*", "build or build (*)".
func (p *ContextPattern) String() string {
	if p == nil {
		return ""
	}
	return p.text
}
