package actions

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// namePart is literal text or a ${{ matrix.KEY }} of a job name.
type namePart struct {
	text string
	key  string // matrix key, when not literal
}

var matrixRef = regexp.MustCompile(`(?i)^matrix\.([a-z_][a-z0-9_-]*)$`)

// parseName splits a job name into literal text and matrix references;
// ok is false when it has any other expression.
func parseName(s string) (parts []namePart, refs int, ok bool) {
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
			return nil, 0, false
		}
		m := matrixRef.FindStringSubmatch(strings.TrimSpace(s[i+3 : i+3+j]))
		if m == nil {
			return nil, 0, false
		}
		if i > 0 {
			parts = append(parts, namePart{text: s[:i]})
		}
		parts = append(parts, namePart{key: m[1]})
		refs++
		s = s[i+3+j+2:]
	}
}

// computeNames returns the check names of a job (one per matrix
// combination), or why they cannot be known and the name as written.
func computeNames(id string, jf []field) (names []string, unknown, raw string) {
	raw = id
	if n := get(jf, "name"); !isNull(n) {
		s, ok := scalarString(n)
		if !ok {
			return nil, "job name is not a string", raw
		}
		if s != "" {
			raw = s
		}
	}
	parts, refs, ok := parseName(raw)
	if !ok {
		return nil, "check name depends on an expression", raw
	}
	combos, hasMatrix, unknown := expandMatrix(jf)
	if unknown != "" {
		return nil, unknown, raw
	}
	if !hasMatrix {
		if refs > 0 {
			return nil, "check name uses a matrix but the job has none", raw
		}
		return []string{raw}, "", raw
	}
	seen := map[string]bool{}
	for _, c := range combos {
		var b strings.Builder
		if refs == 0 {
			b.WriteString(raw)
			if len(c.vals) > 0 {
				b.WriteString(" (" + strings.Join(c.vals, ", ") + ")")
			}
		} else {
			for _, part := range parts {
				if part.key == "" {
					b.WriteString(part.text)
					continue
				}
				v, ok := c.get(part.key)
				if !ok {
					return nil, "check name uses matrix." + part.key + ", missing from a combination", raw
				}
				b.WriteString(v)
			}
		}
		if n := b.String(); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, "", raw
}

// combo is one matrix combination, its keys in display order.
type combo struct {
	keys []string
	vals []string
}

// get looks key up like GitHub's expressions do: case-insensitively.
func (c *combo) get(key string) (string, bool) {
	for i, k := range c.keys {
		if strings.EqualFold(k, key) {
			return c.vals[i], true
		}
	}
	return "", false
}

func (c *combo) set(key, val string) {
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
	return combo{keys: append([]string{}, c.keys...), vals: append([]string{}, c.vals...)}
}

// expandMatrix expands strategy.matrix as GitHub does: the product of the
// vectors in the order written, minus `exclude` (a partial match removes),
// then each `include` entry is added to every original combination it does
// not contradict, or becomes a combination of its own when there is none.
func expandMatrix(jf []field) (combos []combo, has bool, unknown string) {
	s := get(jf, "strategy")
	if isNull(s) {
		return nil, false, ""
	}
	if s.Kind == yaml.ScalarNode {
		return nil, true, "strategy depends on an expression"
	}
	sf, err := mapping(s, "strategy")
	if err != nil {
		return nil, true, err.Error()
	}
	m := get(sf, "matrix")
	if isNull(m) {
		return nil, false, ""
	}
	if m.Kind == yaml.ScalarNode {
		return nil, true, "matrix depends on an expression"
	}
	mf, err := mapping(m, "strategy.matrix")
	if err != nil {
		return nil, true, err.Error()
	}
	const (
		notScalar  = "matrix has values that are not scalars"
		expression = "matrix depends on an expression"
		noValues   = "matrix has no values"
	)
	var (
		keys             []string
		vectors          [][]string
		include, exclude []combo
		size             = 1
		tooLarge         = fmt.Sprintf("matrix has more than %d combinations", maxCombinations)
		isBase           = map[string]bool{}
		entriesOf        = map[string]*[]combo{"include": &include, "exclude": &exclude}
	)
	for _, f := range mf {
		key := f.key.Value
		if dst, ok := entriesOf[key]; ok {
			entries, why := matrixEntries(f.val)
			if why != "" {
				return nil, true, why
			}
			if len(entries) > 4*maxCombinations {
				return nil, true, tooLarge
			}
			*dst = entries
			continue
		}
		if f.val.Kind == yaml.ScalarNode && strings.Contains(f.val.Value, "${{") {
			return nil, true, expression
		}
		if f.val.Kind != yaml.SequenceNode {
			return nil, true, notScalar
		}
		if len(f.val.Content) == 0 {
			return nil, true, noValues
		}
		vec := make([]string, 0, len(f.val.Content))
		for _, item := range f.val.Content {
			v, why := scalarDisplay(item)
			if why != "" {
				return nil, true, why
			}
			vec = append(vec, v)
		}
		if size *= len(vec); size > maxCombinations*16 {
			// Excludes could bring it down again, but not from this far.
			return nil, true, tooLarge
		}
		keys = append(keys, key)
		vectors = append(vectors, vec)
		isBase[key] = true
	}
	if len(keys) == 0 && len(include) == 0 {
		return nil, true, noValues
	}

	var base []combo
	if len(keys) > 0 {
		base = make([]combo, 0, size)
		idx := make([]int, len(keys))
		for {
			c := combo{keys: append([]string{}, keys...), vals: make([]string, len(keys))}
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

	for _, ex := range exclude {
		for _, k := range ex.keys {
			if !isBase[k] {
				return nil, true, "matrix exclude uses a key that is not in the matrix"
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
	combos = append(base, extra...)
	switch {
	case len(combos) == 0:
		return nil, true, "matrix has no combinations"
	case len(combos) > maxCombinations:
		return nil, true, tooLarge
	}
	return combos, true, ""
}

// contains reports whether c has every key: value of part (exclude).
func contains(c, part combo) bool {
	for i, k := range part.keys {
		if v, ok := c.get(k); !ok || v != part.vals[i] {
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
		if v, _ := c.get(k); v != in.vals[i] {
			return false
		}
	}
	return true
}

// matrixEntries reads matrix.include or matrix.exclude.
func matrixEntries(n *yaml.Node) ([]combo, string) {
	if isNull(n) {
		return nil, ""
	}
	if n.Kind == yaml.ScalarNode {
		return nil, "matrix depends on an expression"
	}
	if n.Kind != yaml.SequenceNode {
		return nil, "matrix include or exclude is not a list"
	}
	out := make([]combo, 0, len(n.Content))
	for _, item := range n.Content {
		item = resolve(item)
		if item.Kind == yaml.ScalarNode {
			return nil, "matrix depends on an expression"
		}
		fields, err := mapping(item, "matrix")
		if err != nil {
			return nil, err.Error()
		}
		var c combo
		for _, f := range fields {
			v, why := scalarDisplay(f.val)
			if why != "" {
				return nil, why
			}
			c.keys = append(c.keys, f.key.Value)
			c.vals = append(c.vals, v)
		}
		out = append(out, c)
	}
	return out, ""
}

var (
	intRe     = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	decimalRe = regexp.MustCompile(`^-?[0-9]+\.[0-9]+$`)
)

// scalarDisplay returns a matrix value as GitHub shows it in a check name, or
// why that is not known. Numbers are shown as numbers: `3.10` is "3.1".
func scalarDisplay(n *yaml.Node) (string, string) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		return "", "matrix has values that are not scalars"
	}
	if strings.Contains(n.Value, "${{") {
		return "", "matrix depends on an expression"
	}
	const odd = "matrix has a value whose display is not known"
	if len(n.Value) > 15 {
		// GitHub shows large numbers in exponent notation.
		if t := n.ShortTag(); t == "!!int" || t == "!!float" {
			return "", odd
		}
	}
	switch n.ShortTag() {
	case "!!str":
		return n.Value, ""
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", odd
		}
		return strconv.FormatBool(b), ""
	case "!!int":
		if !intRe.MatchString(n.Value) {
			return "", odd
		}
		return n.Value, ""
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || !decimalRe.MatchString(n.Value) {
			return "", odd
		}
		return strconv.FormatFloat(f, 'f', -1, 64), ""
	}
	return "", odd
}
