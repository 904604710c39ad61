package rules

import "testing"

func TestContextPattern(t *testing.T) {
	tests := []struct {
		name    string
		p       *ContextPattern
		text    string
		match   []string
		noMatch []string
	}{
		{"prefix", NewContextPattern("", []string{"lint-", ""}), "lint-*",
			[]string{"lint-", "lint-go", "LINT-Go", "lint-a\nb"}, []string{"lint", "xlint-a"}},
		{"any", NewContextPattern("", []string{"", ""}), "*", []string{"", "anything / at all"}, nil},
		{"exact", NewContextPattern("", []string{"build"}), "build", []string{"build", "BUILD"}, []string{"build (a)", ""}},
		{"regexp characters are literal", NewContextPattern("", []string{"a.(b)+[c] ", "$"}), "a.(b)+[c] *$",
			[]string{"a.(b)+[c] x$", "a.(b)+[c] $"}, []string{"aX(b)+[c] x$", "a.(b)+[c] x"}},
		{"middle", NewContextPattern("", []string{"test (", ", core)"}), "test (*, core)",
			[]string{"test (3.13, core)", "test (, core)"}, []string{"test (3.13, units)"}},
		{"alternatives", NewContextPattern("build or build (*)", []string{"build"}, []string{"build (", ")"}), "build or build (*)",
			[]string{"build", "build (linux, 1.2)"}, []string{"build-docs", "build (linux"}},
		{"unicode folds", NewContextPattern("", []string{"ÉTAPE-", ""}), "ÉTAPE-*", []string{"étape-1"}, []string{"etape-1"}},
		{"nothing", NewContextPattern(""), "", nil, []string{"", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.text {
				t.Errorf("String() = %q, want %q", got, tt.text)
			}
			for _, c := range tt.match {
				if !tt.p.Match(c) {
					t.Errorf("does not match %q", c)
				}
			}
			for _, c := range tt.noMatch {
				if tt.p.Match(c) {
					t.Errorf("matches %q", c)
				}
			}
		})
	}
	var none *ContextPattern
	if none.Match("x") || none.String() != "" {
		t.Error("a nil pattern matches or has a text")
	}
}
