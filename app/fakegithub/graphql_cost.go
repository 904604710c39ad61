package fakegithub

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// Before a query runs, GitHub validates it, checks the pagination arguments
// of every connection and computes its cost. The emulator does the same on
// gqlparser's AST of the query, validated against the subset schema (which
// gives each field its definition), so that fragments, aliases and
// variables count as they do on GitHub.

const (
	// maxPageSize is GitHub's limit on `first` and `last`.
	maxPageSize = 100
	// maxGraphQLNodes is the most nodes one query may request.
	maxGraphQLNodes = 500_000
)

// graphqlParserSchema is the subset schema as gqlparser loads it.
var graphqlParserSchema = sync.OnceValues(func() (*gqlast.Schema, error) {
	return gqlparser.LoadSchema(&gqlast.Source{Name: "graphql_schema.graphql", Input: graphqlSDL})
})

// gqlPlan is what the analysis of a request found: its cost or the errors
// that stop it before it runs.
type gqlPlan struct {
	// Requests is GitHub's "number of requests needed to fulfill each unique
	// connection in the call", assuming every first/last is reached.
	Requests int64
	// Nodes is the most nodes the query may return (RateLimit.nodeCount).
	Nodes int64
	// Cost is Requests/100 rounded to the nearest whole number, at least 1.
	Cost int
	// DryRun is set when the query asks rateLimit(dryRun: true): it is
	// costed, not run and not charged.
	DryRun bool
	Errors []gqlErrorJSON
}

// gqlErrorJSON is one entry of a response's "errors", in GitHub's shape.
type gqlErrorJSON struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Message    string         `json:"message"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// parsedQueries caches validated documents by query text: a client sends
// the same query many times with other variables. Documents are read-only
// once validated.
var parsedQueries = struct {
	sync.Mutex
	m map[parsedKey]*gqlast.QueryDocument
}{m: map[parsedKey]*gqlast.QueryDocument{}}

type parsedKey struct {
	schema *gqlast.Schema
	query  string
}

const maxParsedQueries = 256

func loadQuery(schema *gqlast.Schema, query string) (*gqlast.QueryDocument, gqlerror.List) {
	key := parsedKey{schema, query}
	parsedQueries.Lock()
	doc := parsedQueries.m[key]
	parsedQueries.Unlock()
	if doc != nil {
		return doc, nil
	}
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil)
	if len(errs) > 0 {
		return nil, errs
	}
	parsedQueries.Lock()
	if len(parsedQueries.m) >= maxParsedQueries {
		parsedQueries.m = map[parsedKey]*gqlast.QueryDocument{}
	}
	parsedQueries.m[key] = doc
	parsedQueries.Unlock()
	return doc, nil
}

// analyzeGraphQL validates a request against a schema (the subset's,
// graphqlParserSchema) and computes its cost.
func analyzeGraphQL(schema *gqlast.Schema, query, operationName string, vars map[string]any) *gqlPlan {
	plan := &gqlPlan{}
	doc, errs := loadQuery(schema, query)
	if len(errs) > 0 {
		for _, e := range errs {
			plan.Errors = append(plan.Errors, fromGQLError(e))
		}
		return plan
	}
	var op *gqlast.OperationDefinition
	switch {
	case operationName != "":
		op = doc.Operations.ForName(operationName)
		if op == nil {
			plan.Errors = append(plan.Errors, gqlErrorJSON{Message: "No operation named \"" + operationName + "\""})
			return plan
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	default:
		plan.Errors = append(plan.Errors, gqlErrorJSON{Message: "An operation name is required"})
		return plan
	}
	coerced, err := validator.VariableValues(schema, op, vars)
	if err != nil {
		var ge *gqlerror.Error
		if e, ok := err.(*gqlerror.Error); ok {
			ge = e
		} else {
			ge = gqlerror.Wrap(err)
		}
		plan.Errors = append(plan.Errors, fromGQLError(ge))
		return plan
	}
	cw := &costWalker{doc: doc, vars: coerced, plan: plan}
	cw.walk(op.SelectionSet, 1, nil)
	if len(plan.Errors) > 0 {
		return plan
	}
	if plan.Nodes > maxGraphQLNodes {
		plan.Errors = append(plan.Errors, gqlErrorJSON{Type: "MAX_NODE_LIMIT_EXCEEDED",
			Message: fmt.Sprintf("This query requests up to %s possible nodes which exceeds the maximum limit of %s.",
				thousands(plan.Nodes), thousands(maxGraphQLNodes))})
		return plan
	}
	plan.Cost = pointsFor(plan.Requests)
	return plan
}

// pointsFor turns a number of requests into points: divided by 100 and
// rounded to the nearest whole number, at least 1.
func pointsFor(requests int64) int {
	p := int(math.Round(float64(requests) / 100))
	if p < 1 {
		p = 1
	}
	return p
}

func fromGQLError(e *gqlerror.Error) gqlErrorJSON {
	out := gqlErrorJSON{Message: e.Message, Extensions: e.Extensions}
	for _, l := range e.Locations {
		out.Locations = append(out.Locations, gqlLocation{Line: l.Line, Column: l.Column})
	}
	for _, p := range e.Path {
		switch v := p.(type) {
		case gqlast.PathName:
			out.Path = append(out.Path, string(v))
		case gqlast.PathIndex:
			out.Path = append(out.Path, int(v))
		}
	}
	return out
}

// thousands formats n with commas, as GitHub's messages do.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// costWalker adds up the requests and nodes of every connection of an
// operation and checks their pagination arguments.
type costWalker struct {
	doc  *gqlast.QueryDocument
	vars map[string]any
	plan *gqlPlan
}

// mergedField is every occurrence of one response key in a selection set
// (directly or through fragments): GraphQL merges them into one field, so
// they are one connection.
type mergedField struct {
	key    string
	fields []*gqlast.Field
}

func (cw *costWalker) collect(set gqlast.SelectionSet, out *[]*mergedField, seen map[string]*mergedField, spread map[string]bool) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *gqlast.Field:
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			m := seen[key]
			if m == nil {
				m = &mergedField{key: key}
				seen[key] = m
				*out = append(*out, m)
			}
			m.fields = append(m.fields, s)
		case *gqlast.InlineFragment:
			cw.collect(s.SelectionSet, out, seen, spread)
		case *gqlast.FragmentSpread:
			if spread[s.Name] {
				continue
			}
			def := s.Definition
			if def == nil {
				def = cw.doc.Fragments.ForName(s.Name)
			}
			if def == nil {
				continue
			}
			spread[s.Name] = true
			cw.collect(def.SelectionSet, out, seen, spread)
			delete(spread, s.Name)
		}
	}
}

// walk visits a selection set whose parent may be any of mult objects.
func (cw *costWalker) walk(set gqlast.SelectionSet, mult int64, path []any) {
	var fields []*mergedField
	cw.collect(set, &fields, map[string]*mergedField{}, map[string]bool{})
	for _, m := range fields {
		f := m.fields[0]
		if f.Definition == nil || strings.HasPrefix(f.Name, "__") {
			continue
		}
		var sub gqlast.SelectionSet
		for _, x := range m.fields {
			sub = append(sub, x.SelectionSet...)
		}
		p := append(append([]any(nil), path...), m.key)
		args := argumentMap(f, cw.vars)
		if f.Name == "rateLimit" && f.ObjectDefinition != nil && f.ObjectDefinition.Name == "Query" {
			if dry, _ := args["dryRun"].(bool); dry {
				cw.plan.DryRun = true
			}
		}
		if !isConnection(f.Definition) {
			if len(sub) > 0 {
				cw.walk(sub, mult, p)
			}
			continue
		}
		n, ok := cw.pageSize(f, args, sub, p)
		if !ok {
			continue
		}
		cw.plan.Requests += mult
		cw.plan.Nodes += mult * n
		cw.walk(sub, mult*n, p)
	}
}

// isConnection reports whether a field returns one of GitHub's connection
// types (the ones paginated with first/last/after/before).
func isConnection(def *gqlast.FieldDefinition) bool {
	return strings.HasSuffix(def.Type.Name(), "Connection")
}

// pageSize checks a connection's first and last as GitHub does and returns
// how many nodes it may return.
func (cw *costWalker) pageSize(f *gqlast.Field, args map[string]any, sub gqlast.SelectionSet, path []any) (int64, bool) {
	loc := []gqlLocation{{Line: f.Position.Line, Column: f.Position.Column}}
	fail := func(typ, msg string) (int64, bool) {
		cw.plan.Errors = append(cw.plan.Errors, gqlErrorJSON{Type: typ, Path: path, Locations: loc, Message: msg})
		return 0, false
	}
	var n int64
	given := false
	for _, name := range []string{"first", "last"} {
		v, ok := toInt64(args[name])
		if !ok {
			continue
		}
		given = true
		if v < 0 {
			return fail("INVALID_PAGINATION", fmt.Sprintf("`%s` on the `%s` connection cannot be less than zero.", name, f.Name))
		}
		if v > maxPageSize {
			return fail("EXCESSIVE_PAGINATION", fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", v, f.Name, name, maxPageSize))
		}
		n = max(n, v)
	}
	if !given && selectsNodes(cw, sub) {
		return fail("MISSING_PAGINATION_BOUNDARIES", fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.Name))
	}
	return n, true
}

// selectsNodes reports whether a connection's selection asks for its
// nodes or edges (totalCount and pageInfo need no page size).
func selectsNodes(cw *costWalker, sub gqlast.SelectionSet) bool {
	var fields []*mergedField
	cw.collect(sub, &fields, map[string]*mergedField{}, map[string]bool{})
	for _, m := range fields {
		if n := m.fields[0].Name; n == "nodes" || n == "edges" {
			return true
		}
	}
	return false
}

// argumentMap is the field's arguments with variables and defaults applied.
func argumentMap(f *gqlast.Field, vars map[string]any) (out map[string]any) {
	defer func() {
		if recover() != nil {
			out = map[string]any{}
		}
	}()
	out = f.ArgumentMap(vars)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}
