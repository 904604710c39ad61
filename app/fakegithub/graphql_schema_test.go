package fakegithub

import (
	"os"
	"slices"
	"testing"

	gqlast "github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// githubSchemaPath is GitHub's public schema (see testdata/graphql/README.md).
const githubSchemaPath = "../../testdata/graphql/github-schema.graphql"

// TestGraphQLSubsetIsGitHubs checks that every type, field, argument (type
// and default), input field, enum value, interface and description of the
// emulator's schema is GitHub's.
func TestGraphQLSubsetIsGitHubs(t *testing.T) {
	data, err := os.ReadFile(githubSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	// GitHub's file defines one field twice, which a validating loader
	// rejects: read it as a document.
	gh, err := parser.ParseSchema(&gqlast.Source{Name: "github-schema.graphql", Input: string(data)})
	if err != nil {
		t.Fatal(err)
	}
	real := map[string]*gqlast.Definition{}
	for _, d := range gh.Definitions {
		real[d.Name] = d
	}
	if _, err := graphqlParserSchema(); err != nil {
		t.Fatalf("the subset is not a valid schema: %v", err)
	}
	sub, err := parser.ParseSchema(&gqlast.Source{Name: "graphql_schema.graphql", Input: graphqlSDL})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Definitions) == 0 {
		t.Fatal("empty subset")
	}
	for _, d := range sub.Definitions {
		r := real[d.Name]
		if r == nil {
			t.Errorf("%s: not a type of GitHub's schema", d.Name)
			continue
		}
		if d.Kind != r.Kind {
			t.Errorf("%s: kind %s, GitHub's is %s", d.Name, d.Kind, r.Kind)
		}
		if d.Description != r.Description {
			t.Errorf("%s: description %q, GitHub's is %q", d.Name, d.Description, r.Description)
		}
		for _, i := range d.Interfaces {
			if !slices.Contains(r.Interfaces, i) {
				t.Errorf("%s implements %s; GitHub's does not", d.Name, i)
			}
		}
		var values []string
		for _, v := range d.EnumValues {
			values = append(values, v.Name)
			rv := r.EnumValues.ForName(v.Name)
			if rv == nil {
				t.Errorf("%s.%s: not a value of GitHub's enum", d.Name, v.Name)
			} else if v.Description != rv.Description {
				t.Errorf("%s.%s: description %q, GitHub's is %q", d.Name, v.Name, v.Description, rv.Description)
			}
		}
		if d.Kind == gqlast.Enum && len(values) != len(r.EnumValues) {
			t.Errorf("%s: values %v, GitHub's enum has %d", d.Name, values, len(r.EnumValues))
		}
		if d.Kind == gqlast.InputObject && len(d.Fields) != len(r.Fields) {
			t.Errorf("%s: %d input fields, GitHub's has %d", d.Name, len(d.Fields), len(r.Fields))
		}
		for _, f := range d.Fields {
			rf := r.Fields.ForName(f.Name)
			if rf == nil {
				t.Errorf("%s.%s: not a field of GitHub's", d.Name, f.Name)
				continue
			}
			where := d.Name + "." + f.Name
			if f.Type.String() != rf.Type.String() {
				t.Errorf("%s: type %s, GitHub's is %s", where, f.Type, rf.Type)
			}
			if f.Description != rf.Description {
				t.Errorf("%s: description %q, GitHub's is %q", where, f.Description, rf.Description)
			}
			if dv, rv := defaultOf(f.DefaultValue), defaultOf(rf.DefaultValue); dv != rv {
				t.Errorf("%s: default %s, GitHub's is %s", where, dv, rv)
			}
			// Every argument of GitHub's field is here, with its type and
			// default.
			if len(f.Arguments) != len(rf.Arguments) {
				t.Errorf("%s: %d arguments, GitHub's has %d", where, len(f.Arguments), len(rf.Arguments))
			}
			for _, a := range f.Arguments {
				ra := rf.Arguments.ForName(a.Name)
				if ra == nil {
					t.Errorf("%s(%s): not an argument of GitHub's", where, a.Name)
					continue
				}
				if a.Type.String() != ra.Type.String() {
					t.Errorf("%s(%s): type %s, GitHub's is %s", where, a.Name, a.Type, ra.Type)
				}
				if dv, rv := defaultOf(a.DefaultValue), defaultOf(ra.DefaultValue); dv != rv {
					t.Errorf("%s(%s): default %s, GitHub's is %s", where, a.Name, dv, rv)
				}
				if a.Description != ra.Description {
					t.Errorf("%s(%s): description %q, GitHub's is %q", where, a.Name, a.Description, ra.Description)
				}
			}
		}
	}
}

func defaultOf(v *gqlast.Value) string {
	if v == nil {
		return "(none)"
	}
	return v.String()
}
