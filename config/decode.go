package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nodeDecoder decodes a YAML tree into a Go value along the value's yaml
// tags, strictly (an unknown key, a key given twice, a value of the wrong
// shape or type), and goes on past every problem: each is reported with its
// line and key path (contexts[1].paths), so that a file with three mistakes
// shows three. go.yaml.in/yaml/v3's own decoder names no key in a type
// error and stops at a key given twice.
type nodeDecoder struct {
	// visits counts the values decoded, aliases expanded: a document whose
	// aliases multiply it past maxValues is refused, as yaml's own decoder
	// refuses excessive aliasing.
	visits int
	errs   []error
	// failed holds the key paths whose values could not be decoded: their
	// zero values must not be validated again as if they had been given.
	failed map[string]bool
}

// maxValues bounds the values of one document, aliases expanded.
const maxValues = 100_000

// lineSetter is a value that keeps the line it was written at.
type lineSetter interface{ setLine(int) }

// decodeDocument decodes a whole YAML document into the struct into
// points to.
func decodeDocument(data []byte, into any) *nodeDecoder {
	d := &nodeDecoder{failed: map[string]bool{}}
	root, line, problem := readDocument(data)
	switch {
	case problem != "":
		d.fail("", line, problem)
	case root != nil:
		d.value(root, reflect.ValueOf(into).Elem(), "")
	}
	return d
}

// readDocument reads the one YAML document of data: its root node (nil
// when data holds none), or the problem, at line (0: none known), that
// keeps it from being read.
func readDocument(data []byte) (root *yaml.Node, line int, problem string) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, ""
		}
		return nil, 0, "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, extra.Line, "want one YAML document, found more"
	}
	if len(doc.Content) == 0 {
		return nil, 0, ""
	}
	return doc.Content[0], 0, ""
}

func (d *nodeDecoder) fail(path string, line int, msg string) {
	d.failed[path] = true
	at := ""
	if line > 0 {
		at = fmt.Sprintf("line %d: ", line)
	}
	if path != "" {
		at += path + ": "
	}
	d.errs = append(d.errs, errors.New(at+msg))
}

// isFailed reports whether the value at path, or one it is part of, could
// not be decoded.
func (d *nodeDecoder) isFailed(path string) bool {
	for {
		if d.failed[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.failed[""]
		}
		path = path[:i]
	}
}

func (d *nodeDecoder) value(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if !d.visit(n) {
		return
	}
	if n.ShortTag() == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n.Line, fmt.Sprintf("want %s, got %s", describeType(v.Type()), describeNode(n)))
			return
		}
		list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, list.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(list)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, n.Line, fmt.Sprintf("want %s, got %s", describeType(v.Type()), describeNode(n)))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(path, n.Line, fmt.Sprintf("want %s, got %s", describeType(v.Type()), describeNode(n)))
		}
	}
}

// visit counts one more value (at n), and reports whether it is within
// maxValues.
func (d *nodeDecoder) visit(n *yaml.Node) bool {
	d.visits++
	if d.visits == maxValues+1 {
		d.fail("", n.Line, fmt.Sprintf("more than %d values (aliases expand to too many)", maxValues))
	}
	return d.visits <= maxValues
}

// mapping decodes a mapping into the struct v, key by key.
func (d *nodeDecoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, "want a mapping of keys, got "+describeNode(n))
		return
	}
	if ls, ok := v.Addr().Interface().(lineSetter); ok {
		ls.setLine(n.Line)
	}
	fields := map[string]int{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fields[name] = i
		}
	}
	seen, mergedSeen := map[string]int{}, map[string]bool{}
	for _, kv := range d.pairs(n, path) {
		k, val, merged := kv.key, kv.value, kv.merged
		p := joinPath(path, k.Value)
		switch _, explicit := seen[k.Value]; {
		case !merged && explicit:
			d.fail(p, k.Line, fmt.Sprintf("given twice (first at line %d)", seen[k.Value]))
			continue
		case !merged:
			seen[k.Value] = k.Line
		case explicit || mergedSeen[k.Value]:
			// Written in the mapping, or merged in from an earlier one.
			continue
		default:
			mergedSeen[k.Value] = true
		}
		i, ok := fields[k.Value]
		if !ok {
			d.fail(p, k.Line, "unknown key")
			continue
		}
		d.value(val, v.Field(i), p)
	}
}

type pair struct {
	key, value *yaml.Node
	// merged: the key comes from a mapping merged in with "<<".
	merged bool
}

// pairs lists a mapping's keys and values, then those of the mappings its
// "<<" keys merge in, as YAML's merge keys mean: a key written in the
// mapping wins over a merged one, and an earlier merged mapping over a
// later one.
func (d *nodeDecoder) pairs(n *yaml.Node, path string) []pair {
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.visit(k) {
			return nil
		}
		if k.ShortTag() != "!!merge" {
			own = append(own, pair{key: k, value: val})
			continue
		}
		sources := []*yaml.Node{val}
		if val = resolveAlias(val); val.Kind == yaml.SequenceNode {
			sources = val.Content
		}
		for _, src := range sources {
			if src = resolveAlias(src); src.Kind != yaml.MappingNode {
				d.fail(joinPath(path, k.Value), src.Line, "want a mapping to merge, got "+describeNode(src))
				continue
			}
			for _, p := range d.pairs(src, path) {
				p.merged = true
				merged = append(merged, p)
			}
		}
	}
	return append(own, merged...)
}
