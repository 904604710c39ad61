package actions

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// parseYAML parses a workflow document and returns its top-level mapping.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	// A panic in the YAML parser on hostile input must not take the server
	// down: report it as invalid YAML.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty workflow")
	}
	root = resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("workflow is not a mapping")
	}
	return root, nil
}

// field is one key: value pair of a YAML mapping.
type field struct {
	key *yaml.Node
	val *yaml.Node
}

// mapping returns the pairs of mapping n in order. where names n in
// errors. Duplicate keys are an error on GitHub too; merge keys (<<) are
// refused rather than half-understood.
func mapping(n *yaml.Node, where string) ([]field, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: must be a mapping", where)
	}
	out := make([]field, 0, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: line %d: key is not a string", where, k.Line)
		}
		if k.ShortTag() == "!!merge" {
			return nil, fmt.Errorf("%s: line %d: merge keys (<<) are not supported", where, k.Line)
		}
		if seen[k.Value] {
			return nil, fmt.Errorf("%s: line %d: duplicate key %q", where, k.Line, k.Value)
		}
		seen[k.Value] = true
		out = append(out, field{key: k, val: resolve(n.Content[i+1])})
	}
	return out, nil
}

// get returns the value of key, or nil.
func get(fields []field, key string) *yaml.Node {
	for _, f := range fields {
		if f.key.Value == key {
			return f.val
		}
	}
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalarString returns the text of a scalar that is not null.
func scalarString(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return "", false
	}
	return n.Value, true
}

// stringList reads a string or a list of strings.
func stringList(n *yaml.Node, where string) ([]string, error) {
	n = resolve(n)
	if s, ok := scalarString(n); ok {
		return []string{s}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: must be a list of strings", where)
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		s, ok := scalarString(item)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: must be a string", where, i)
		}
		out = append(out, s)
	}
	return out, nil
}
