package actions

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fix-status/fix-status/app/rules"
	"go.yaml.in/yaml/v3"
)

// checkName is what a check name is known to be: alternatives, each literal
// parts with any characters between consecutive parts. A name known exactly
// is one alternative of one part. text is the name as written (expressions
// kept), for messages.
type checkName struct {
	alts [][]string
	// cut marks the alternatives that only admit names GitHub cut short;
	// messages leave them out.
	cut  []bool
	text string
}

func exactName(s string) checkName {
	return checkName{alts: [][]string{{s}}, cut: []bool{false}, text: s}
}

// anyName is a name that may be anything.
func anyName(text string) checkName {
	return checkName{alts: [][]string{{"", ""}}, cut: []bool{false}, text: text}
}

// pattern returns the context pattern of a name that is not known exactly.
func (c checkName) pattern() *rules.ContextPattern {
	var shown []string
	for i, alt := range c.alts {
		if !c.cut[i] {
			shown = append(shown, strings.Join(alt, "*"))
		}
	}
	return rules.NewContextPattern(strings.Join(shown, " or "), c.alts...)
}

// exact returns the name when it is known exactly.
func (c checkName) exact() (string, bool) {
	if len(c.alts) == 1 && len(c.alts[0]) == 1 {
		return c.alts[0][0], true
	}
	return "", false
}

// maxAlternatives bounds the alternatives of one name: each level of
// reusable workflows may double them.
const maxAlternatives = 16

// join returns c, then sep, then d: "caller / called".
func (c checkName) join(sep string, d checkName) checkName {
	out := checkName{text: c.text + sep + d.text}
	for i, x := range c.alts {
		for k, y := range d.alts {
			alt := append([]string{}, x[:len(x)-1]...)
			alt = append(alt, x[len(x)-1]+sep+y[0])
			out.alts = append(out.alts, append(alt, y[1:]...))
			out.cut = append(out.cut, c.cut[i] || d.cut[k])
		}
	}
	if len(out.alts) > maxAlternatives {
		// What every alternative starts with, then anything: it admits at
		// least what they all do.
		prefix := out.alts[0][0]
		for _, alt := range out.alts[1:] {
			for !strings.HasPrefix(alt[0], prefix) {
				_, n := utf8.DecodeLastRuneInString(prefix)
				prefix = prefix[:len(prefix)-n]
			}
		}
		out.alts, out.cut = [][]string{{prefix, ""}}, []bool{false}
	}
	return out
}

// maxNameLength is where GitHub cuts a job's check name: a longer one is
// reported as its first 97 characters and "...". A reusable workflow's job
// name is cut on its own, then prefixed with the caller's ("caller / ").
const maxNameLength = 100

const ellipsis = "..."

func truncateName(s string) string {
	if utf8.RuneCountInString(s) <= maxNameLength {
		return s
	}
	r := []rune(s)
	return string(r[:maxNameLength-len(ellipsis)]) + ellipsis
}

// truncated returns the name as GitHub reports it. A pattern may expand to a
// name longer than the limit, so it also admits the cut form: its first
// literal part (cut itself when that is already too long), anything, and
// "...".
func (c checkName) truncated() checkName {
	out := checkName{text: c.text}
	seen := map[string]bool{}
	add := func(alt []string, cut bool) {
		if key := strings.Join(alt, "\x00"); !seen[key] {
			seen[key] = true
			out.alts, out.cut = append(out.alts, alt), append(out.cut, cut)
		}
	}
	for i, alt := range c.alts {
		if len(alt) == 1 {
			add([]string{truncateName(alt[0])}, c.cut[i])
			continue
		}
		add(alt, c.cut[i])
		if len(alt) == 2 && alt[1] == "" {
			// head* admits its cut forms already.
			continue
		}
		if head := []rune(alt[0]); len(head) >= maxNameLength-len(ellipsis) {
			add([]string{string(head[:maxNameLength-len(ellipsis)]) + ellipsis}, true)
		} else {
			add([]string{alt[0], ellipsis}, true)
		}
	}
	return out
}

// nameTemplate is the pattern of a name as written: literal text kept, each
// ${{ ... }} any characters (an unclosed one runs to the end).
func nameTemplate(raw string) []string {
	parts := []string{}
	s := raw
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:i])
		j := strings.Index(s[i+3:], "}}")
		if j < 0 {
			return append(parts, "")
		}
		s = s[i+3+j+2:]
	}
}

// namePart is literal text or a ${{ matrix.KEY.PROPERTY... }} of a job name.
type namePart struct {
	text string
	path []string // matrix key and properties, when not literal
}

var matrixRef = regexp.MustCompile(`(?i)^matrix((?:\.[a-z_][a-z0-9_-]*)+)$`)

// parseName splits a job name into literal text and matrix references;
// static is false when it has any other expression.
func parseName(s string) (parts []namePart, refs int, static bool) {
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			if s != "" {
				parts = append(parts, namePart{text: s})
			}
			return parts, refs, true
		}
		j := strings.Index(s[i+3:], "}}")
		if j < 0 {
			return nil, refs, false
		}
		m := matrixRef.FindStringSubmatch(strings.TrimSpace(s[i+3 : i+3+j]))
		if m == nil {
			return nil, refs, false
		}
		if i > 0 {
			parts = append(parts, namePart{text: s[:i]})
		}
		parts = append(parts, namePart{path: strings.Split(m[1][1:], ".")})
		refs++
		s = s[i+3+j+2:]
	}
}

// computeNames returns the check names of a job, one per matrix
// combination, as GitHub reports them. A name that cannot be known
// statically is one pattern of every name it may be (see guessName). invalid
// says why GitHub cannot run the job at all (an empty or too large matrix).
func computeNames(id string, jf []field) (names []checkName, invalid string) {
	raw := id
	if n := get(jf, "name"); !isNull(n) {
		s, ok := scalarString(n)
		if !ok {
			// Not a name GitHub can show: it may be reported as anything.
			return []checkName{anyName("*")}, ""
		}
		if s != "" {
			raw = s
		}
	}
	parts, refs, static := parseName(raw)
	m := expandMatrix(jf)
	guess := func() ([]checkName, string) {
		return []checkName{guessName(raw, m.has).truncated()}, m.invalid
	}
	switch {
	case m.invalid != "" || m.dynamic || !static:
		return guess()
	case !m.has && refs > 0:
		// A matrix reference without a matrix is empty at run time.
		return guess()
	case !m.has:
		return []checkName{exactName(truncateName(raw))}, ""
	}
	seen := map[string]bool{}
	for _, c := range m.combos {
		var b strings.Builder
		if refs == 0 {
			b.WriteString(raw)
			var leaves []string
			for _, v := range c.vals {
				leaves = v.leaves(leaves)
			}
			if len(leaves) > 0 {
				b.WriteString(" (" + strings.Join(leaves, ", ") + ")")
			}
		} else {
			for _, part := range parts {
				if part.path == nil {
					b.WriteString(part.text)
					continue
				}
				v, ok := c.lookup(part.path)
				if !ok || v.kind != scalarValue {
					// A missing property, or an object or list, whose
					// display is not known.
					return guess()
				}
				b.WriteString(v.text)
			}
		}
		if n := truncateName(b.String()); !seen[n] {
			seen[n] = true
			names = append(names, exactName(n))
		}
	}
	return names, ""
}

// guessName is every name a job may report when its name or matrix cannot
// be read statically: the name as written with each expression any
// characters, and, for a matrix job whose name does not mention the matrix,
// also that name followed by its matrix values, " (...)".
func guessName(raw string, matrix bool) checkName {
	base := nameTemplate(raw)
	c := checkName{alts: [][]string{base}, cut: []bool{false}, text: raw}
	last := base[len(base)-1]
	// A name ending in an expression admits any values after it already.
	if matrix && !mentionsMatrix.MatchString(raw) && (len(base) == 1 || last != "") {
		withValues := append([]string{}, base[:len(base)-1]...)
		c.alts = append(c.alts, append(withValues, last+" (", ")"))
		c.cut = append(c.cut, false)
	}
	return c
}

// mentionsMatrix finds an expression that reads the matrix.
var mentionsMatrix = regexp.MustCompile(`(?i)\$\{\{[^}]*\bmatrix\b`)

// valueKind is the kind of a matrix value.
type valueKind byte

const (
	scalarValue valueKind = iota
	mappingValue
	listValue
)

// value is a matrix value: a scalar, or a mapping or list of values.
type value struct {
	kind valueKind
	// text is a scalar as GitHub shows it in a check name.
	text string
	// keys are a mapping's keys in order; items its values, or a list's.
	keys  []string
	items []value
}

// leaves appends the value as GitHub shows it in a default check name: a
// mapping or list by its scalars, in order, depth first ("core, tests/core"
// for {name: core, paths: tests/core}).
func (v value) leaves(out []string) []string {
	if v.kind == scalarValue {
		return append(out, v.text)
	}
	for _, item := range v.items {
		out = item.leaves(out)
	}
	return out
}

// equal compares a value with a scalar of include or exclude: an object or
// list equals no scalar.
func (v value) equal(w value) bool {
	return v.kind == scalarValue && w.kind == scalarValue && v.text == w.text
}

// property looks a mapping's key up as GitHub's expressions do:
// case-insensitively.
func (v value) property(key string) (value, bool) {
	if v.kind != mappingValue {
		return value{}, false
	}
	for i, k := range v.keys {
		if strings.EqualFold(k, key) {
			return v.items[i], true
		}
	}
	return value{}, false
}

// combo is one matrix combination, its keys in display order.
type combo struct {
	keys []string
	vals []value
}

// get looks key up like GitHub's expressions do: case-insensitively.
func (c *combo) get(key string) (value, bool) {
	for i, k := range c.keys {
		if strings.EqualFold(k, key) {
			return c.vals[i], true
		}
	}
	return value{}, false
}

// lookup follows matrix.KEY.PROPERTY...
func (c *combo) lookup(path []string) (value, bool) {
	v, ok := c.get(path[0])
	for _, key := range path[1:] {
		if !ok {
			break
		}
		v, ok = v.property(key)
	}
	return v, ok
}

func (c *combo) set(key string, val value) {
	for i, k := range c.keys {
		if k == key {
			c.vals[i] = val
			return
		}
	}
	c.keys = append(c.keys, key)
	c.vals = append(c.vals, val)
}

func (c *combo) clone() combo {
	return combo{keys: append([]string{}, c.keys...), vals: append([]value{}, c.vals...)}
}

// matrix is an expanded strategy.matrix.
type matrix struct {
	combos []combo
	// has is set when the job has a matrix (or may have one).
	has bool
	// dynamic is set when the combinations cannot be known statically
	// (expressions, values whose display is not known).
	dynamic bool
	// invalid says why GitHub refuses the matrix.
	invalid string
}

// Matrix problems. GitHub refuses an empty matrix, one that excludes
// everything, an exclude naming a key the matrix lacks, and more than 256
// combinations.
var (
	errNoValues = "matrix has no values"
	errTooLarge = fmt.Sprintf("matrix has more than %d combinations", maxCombinations)
)

// expandMatrix expands strategy.matrix as GitHub does: the product of the
// vectors in the order written, minus `exclude` (a partial match removes),
// then each `include` entry is added to every original combination it does
// not contradict, or becomes a combination of its own when there is none.
func expandMatrix(jf []field) matrix {
	dynamic := matrix{has: true, dynamic: true}
	invalid := func(why string) matrix { return matrix{has: true, invalid: why} }
	s := get(jf, "strategy")
	if isNull(s) {
		return matrix{}
	}
	if s.Kind == yaml.ScalarNode {
		return dynamic
	}
	sf, err := mapping(s, "strategy")
	if err != nil {
		return invalid(err.Error())
	}
	m := get(sf, "matrix")
	if isNull(m) {
		return matrix{}
	}
	if m.Kind == yaml.ScalarNode {
		return dynamic
	}
	mf, err := mapping(m, "strategy.matrix")
	if err != nil {
		return invalid(err.Error())
	}
	var (
		keys             []string
		vectors          [][]value
		include, exclude []combo
		size             = 1
		isBase           = map[string]bool{}
		entriesOf        = map[string]*[]combo{"include": &include, "exclude": &exclude}
		budget           = maxMatrixNodes
	)
	for _, f := range mf {
		key := f.key.Value
		if dst, ok := entriesOf[key]; ok {
			entries, known := matrixEntries(f.val, &budget)
			if !known {
				return dynamic
			}
			if len(entries) > 4*maxCombinations {
				return invalid(errTooLarge)
			}
			*dst = entries
			continue
		}
		if f.val.Kind != yaml.SequenceNode {
			// An expression, or a value GitHub does not take as a vector.
			return dynamic
		}
		if len(f.val.Content) == 0 {
			return invalid(errNoValues)
		}
		vec := make([]value, 0, len(f.val.Content))
		for _, item := range f.val.Content {
			v, known := valueOf(item, &budget)
			if !known {
				return dynamic
			}
			vec = append(vec, v)
		}
		if size *= len(vec); size > maxCombinations*16 {
			// Excludes could bring it down again, but not from this far.
			return invalid(errTooLarge)
		}
		keys = append(keys, key)
		vectors = append(vectors, vec)
		isBase[key] = true
	}
	if len(keys) == 0 && len(include) == 0 {
		return invalid(errNoValues)
	}
	// include and exclude compare values with the matrix's; comparing
	// objects and lists is not modelled.
	for _, in := range include {
		for i, k := range in.keys {
			if isBase[k] && in.vals[i].kind != scalarValue {
				return dynamic
			}
		}
	}
	for _, ex := range exclude {
		for i, k := range ex.keys {
			if !isBase[k] {
				return invalid("matrix exclude uses a key that is not in the matrix")
			}
			if ex.vals[i].kind != scalarValue {
				return dynamic
			}
		}
	}

	var base []combo
	if len(keys) > 0 {
		base = make([]combo, 0, size)
		idx := make([]int, len(keys))
		for {
			c := combo{keys: append([]string{}, keys...), vals: make([]value, len(keys))}
			for i := range keys {
				c.vals[i] = vectors[i][idx[i]]
			}
			base = append(base, c)
			// Odometer: the last key varies fastest.
			i := len(keys) - 1
			for ; i >= 0; i-- {
				if idx[i]++; idx[i] < len(vectors[i]) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}

	kept := base[:0]
	for _, c := range base {
		excluded := false
		for _, ex := range exclude {
			if contains(c, ex) {
				excluded = true
				break
			}
		}
		if !excluded {
			kept = append(kept, c)
		}
	}
	base = kept

	var extra []combo
	for _, in := range include {
		added := false
		for i := range base {
			if !agrees(base[i], in, isBase) {
				continue
			}
			for j, k := range in.keys {
				base[i].set(k, in.vals[j])
			}
			added = true
		}
		if !added {
			extra = append(extra, in.clone())
		}
	}
	combos := append(base, extra...)
	switch {
	case len(combos) == 0:
		return invalid("matrix has no combinations")
	case len(combos) > maxCombinations:
		return invalid(errTooLarge)
	}
	return matrix{combos: combos, has: true}
}

// contains reports whether c has every key: value of part (exclude).
func contains(c, part combo) bool {
	for i, k := range part.keys {
		if v, ok := c.get(k); !ok || !v.equal(part.vals[i]) {
			return false
		}
	}
	return true
}

// agrees reports whether include entry in can extend c without
// overwriting one of c's original matrix values.
func agrees(c, in combo, isBase map[string]bool) bool {
	for i, k := range in.keys {
		if !isBase[k] {
			continue
		}
		if v, _ := c.get(k); !v.equal(in.vals[i]) {
			return false
		}
	}
	return true
}

// maxMatrixNodes bounds the YAML nodes a matrix's values may expand to, so
// that aliases nested in values cannot blow up.
const maxMatrixNodes = 1 << 16

// matrixEntries reads matrix.include or matrix.exclude; known is false when
// they cannot be read statically.
func matrixEntries(n *yaml.Node, budget *int) (entries []combo, known bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	out := make([]combo, 0, len(n.Content))
	for _, item := range n.Content {
		fields, err := mapping(item, "matrix")
		if err != nil {
			return nil, false
		}
		var c combo
		for _, f := range fields {
			v, known := valueOf(f.val, budget)
			if !known {
				return nil, false
			}
			c.keys = append(c.keys, f.key.Value)
			c.vals = append(c.vals, v)
		}
		out = append(out, c)
	}
	return out, true
}

// valueOf reads a matrix value; known is false when its display cannot be
// known statically (an expression, an unusual scalar, an empty mapping or
// list).
func valueOf(n *yaml.Node, budget *int) (v value, known bool) {
	if *budget--; *budget < 0 {
		return value{}, false
	}
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		text, ok := scalarDisplay(n)
		return value{kind: scalarValue, text: text}, ok
	case yaml.MappingNode:
		fields, err := mapping(n, "matrix")
		if err != nil || len(fields) == 0 {
			return value{}, false
		}
		v = value{kind: mappingValue}
		for _, f := range fields {
			item, ok := valueOf(f.val, budget)
			if !ok {
				return value{}, false
			}
			v.keys = append(v.keys, f.key.Value)
			v.items = append(v.items, item)
		}
		return v, true
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return value{}, false
		}
		v = value{kind: listValue}
		for _, c := range n.Content {
			item, ok := valueOf(c, budget)
			if !ok {
				return value{}, false
			}
			v.items = append(v.items, item)
		}
		return v, true
	}
	return value{}, false
}

var (
	intRe     = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	decimalRe = regexp.MustCompile(`^-?[0-9]+\.[0-9]+$`)
)

// scalarDisplay returns a matrix scalar as GitHub shows it in a check name;
// ok is false when that is not known. Numbers are shown as numbers: `3.10`
// is "3.1".
func scalarDisplay(n *yaml.Node) (string, bool) {
	if strings.Contains(n.Value, "${{") {
		return "", false
	}
	if len(n.Value) > 15 {
		// GitHub shows large numbers in exponent notation.
		if t := n.ShortTag(); t == "!!int" || t == "!!float" {
			return "", false
		}
	}
	switch n.ShortTag() {
	case "!!str":
		return n.Value, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", false
		}
		return strconv.FormatBool(b), true
	case "!!int":
		return n.Value, intRe.MatchString(n.Value)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || !decimalRe.MatchString(n.Value) {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}
