package prow

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fix-status/fix-status/app/rules"
	"go.yaml.in/yaml/v3"
)

// parse reads the presubmits of one file. The YAML is decoded as Prow's
// sigs.k8s.io/yaml does (YAML 1.1 into a generic map, then JSON into the job
// structs): later duplicate keys win, `<<` merges override the keys before
// them, and field names match case-insensitively.
func (f *configFile) parse(data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		f.fail(0, "", "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	f.budget = nodeBudget
	root, err := f.resolve(doc.Content[0])
	if err != nil {
		f.fail(doc.Content[0].Line, "", "", "%v", err)
		return
	}
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		f.fail(root.Line, "", "", "expected a mapping at the top level, got %s", kindOf(root))
		return
	}
	top, err := f.pairs(root)
	if err != nil {
		f.fail(root.Line, "", "", "%v", err)
		return
	}
	var presubmits *yaml.Node
	for _, p := range jsonOrder(top) {
		if fieldName(p.key, "presubmits") {
			presubmits = p.value
		}
	}
	if presubmits == nil || isNull(presubmits) {
		return
	}
	if presubmits.Kind != yaml.MappingNode {
		f.fail(presubmits.Line, "", "", "presubmits: expected a mapping of org/repo to jobs, got %s", kindOf(presubmits))
		return
	}
	repos, err := f.pairs(presubmits)
	if err != nil {
		f.fail(presubmits.Line, "", "", "presubmits: %v", err)
		return
	}
	for _, r := range repos {
		f.parseRepo(r)
	}
}

func (f *configFile) parseRepo(r pair) {
	list, err := f.resolve(r.value)
	if err != nil {
		f.fail(r.line, r.key, "", "%v", err)
		return
	}
	if isNull(list) {
		return
	}
	if list.Kind != yaml.SequenceNode {
		f.fail(list.Line, r.key, "", "expected a list of jobs, got %s", kindOf(list))
		return
	}
	for _, item := range list.Content {
		if f.budget--; f.budget < 0 {
			f.fail(item.Line, r.key, "", "too many YAML nodes (aliases expand beyond %d)", nodeBudget)
			return
		}
		if ps := f.parseJob(r.key, item); ps != nil {
			f.jobs = append(f.jobs, ps)
		}
	}
}

// jobFields are the presubmit keys that decide triggering and reporting.
var jobFields = []string{
	"name", "always_run", "run_if_changed", "skip_if_only_changed", "optional",
	"skip_report", "context", "branches", "skip_branches", "trigger",
	"rerun_command", "run_before_merge",
}

func (f *configFile) parseJob(repo string, item *yaml.Node) *presubmit {
	// The job's line is where it is listed, even when it is an alias.
	ps := &presubmit{repo: repo, origin: rules.Origin{Path: f.path, Line: item.Line}}
	n, err := f.resolve(item)
	if err != nil {
		f.fail(item.Line, repo, "", "%v", err)
		return nil
	}
	if isNull(n) {
		// Prow decodes a null entry as a job with no name.
		return ps
	}
	if n.Kind != yaml.MappingNode {
		f.fail(item.Line, repo, "", "expected a job mapping, got %s", kindOf(n))
		return nil
	}
	pairs, err := f.pairs(n)
	if err != nil {
		f.fail(item.Line, repo, "", "%v", err)
		return nil
	}
	ordered := jsonOrder(pairs)
	// The name first, so that field errors can name the job.
	for _, p := range ordered {
		if fieldName(p.key, "name") {
			ps.name, err = f.str(p.value)
			if err != nil {
				f.fail(item.Line, repo, "", "name: %v", err)
				return nil
			}
		}
	}
	ok := true
	for _, p := range ordered {
		field := ""
		for _, name := range jobFields {
			if fieldName(p.key, name) {
				field = name
				break
			}
		}
		if field == "" || field == "name" {
			continue
		}
		if err := f.setField(ps, field, p.value); err != nil {
			f.fail(item.Line, repo, ps.name, "%s: %v", field, err)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return ps
}

func (f *configFile) setField(ps *presubmit, field string, v *yaml.Node) error {
	var err error
	switch field {
	case "always_run":
		ps.alwaysRun, err = f.boolean(v)
	case "optional":
		ps.optional, err = f.boolean(v)
	case "skip_report":
		ps.skipReport, err = f.boolean(v)
	case "run_before_merge":
		ps.runBeforeMerge, err = f.boolean(v)
	case "run_if_changed":
		ps.runIfChanged, err = f.str(v)
	case "skip_if_only_changed":
		ps.skipIfOnlyChanged, err = f.str(v)
	case "context":
		ps.context, err = f.str(v)
	case "trigger":
		ps.trigger, err = f.str(v)
	case "rerun_command":
		ps.rerunCommand, err = f.str(v)
	case "branches":
		ps.branches, err = f.strs(v)
	case "skip_branches":
		ps.skipBranches, err = f.strs(v)
	}
	return err
}

// fieldName reports whether a YAML key selects a field, the way
// encoding/json matches object keys to struct fields (case-insensitively).
func fieldName(key, field string) bool {
	return key == field || strings.EqualFold(key, field)
}

type pair struct {
	key   string
	value *yaml.Node
	line  int
}

// resolve follows aliases.
func (f *configFile) resolve(n *yaml.Node) (*yaml.Node, error) {
	for n.Kind == yaml.AliasNode {
		if f.budget--; f.budget < 0 {
			return nil, fmt.Errorf("too many YAML nodes (aliases expand beyond %d)", nodeBudget)
		}
		if n.Alias == nil {
			return nil, fmt.Errorf("unknown alias *%s", n.Value)
		}
		n = n.Alias
	}
	return n, nil
}

// pairs flattens a mapping the way yaml.v2 decodes it into a map (which is
// what sigs.k8s.io/yaml does): in document order, a later key replaces an
// earlier one, and a `<<` merge sets its keys at its position (for a list
// of mappings, the first mapping wins).
func (f *configFile) pairs(n *yaml.Node) ([]pair, error) {
	var out []pair
	index := map[string]int{}
	set := func(p pair) {
		if i, ok := index[p.key]; ok {
			out[i] = p
			return
		}
		index[p.key] = len(out)
		out = append(out, p)
	}
	var walk func(n *yaml.Node, depth int) error
	walk = func(n *yaml.Node, depth int) error {
		if depth > 100 {
			return errors.New("merge keys nested too deeply")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f.budget -= 2; f.budget < 0 {
				return fmt.Errorf("too many YAML nodes (aliases expand beyond %d)", nodeBudget)
			}
			k, err := f.resolve(n.Content[i])
			if err != nil {
				return err
			}
			v := n.Content[i+1]
			if isMerge(k) {
				if err := f.merge(v, depth, walk); err != nil {
					return err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: expected a scalar key, got %s", k.Line, kindOf(k))
			}
			set(pair{key: k.Value, value: v, line: k.Line})
		}
		return nil
	}
	if err := walk(n, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *configFile) merge(v *yaml.Node, depth int, walk func(*yaml.Node, int) error) error {
	m, err := f.resolve(v)
	if err != nil {
		return err
	}
	switch m.Kind {
	case yaml.MappingNode:
		return walk(m, depth+1)
	case yaml.SequenceNode:
		// The first mapping of the list takes precedence: apply in reverse.
		for i := len(m.Content) - 1; i >= 0; i-- {
			e, err := f.resolve(m.Content[i])
			if err != nil {
				return err
			}
			if e.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: a merge list may contain only mappings, got %s", e.Line, kindOf(e))
			}
			if err := walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: a merge value must be a mapping or a list of mappings, got %s", m.Line, kindOf(m))
}

// jsonOrder orders keys as Prow's YAML-to-JSON conversion does (a Go map
// marshalled with sorted keys), which decides which of two keys differing
// only in case wins.
func jsonOrder(pairs []pair) []pair {
	out := append([]pair(nil), pairs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0) &&
		(k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// str reads a string field: any scalar, by its text; null is empty.
func (f *configFile) str(n *yaml.Node) (string, error) {
	n, err := f.resolve(n)
	if err != nil {
		return "", err
	}
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("expected a string, got %s", kindOf(n))
	}
	return n.Value, nil
}

func (f *configFile) strs(n *yaml.Node) ([]string, error) {
	n, err := f.resolve(n)
	if err != nil {
		return nil, err
	}
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("expected a list of strings, got %s", kindOf(n))
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		if f.budget--; f.budget < 0 {
			return nil, fmt.Errorf("too many YAML nodes (aliases expand beyond %d)", nodeBudget)
		}
		s, err := f.str(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// boolean reads a boolean field with YAML 1.1 spellings (yes/no, on/off,
// ...), as Prow's YAML decoder does; a quoted string is not a boolean.
func (f *configFile) boolean(n *yaml.Node) (bool, error) {
	n, err := f.resolve(n)
	if err != nil {
		return false, err
	}
	if isNull(n) {
		return false, nil
	}
	if n.Kind == yaml.ScalarNode && (n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0) &&
		(n.Style&yaml.TaggedStyle == 0 || n.ShortTag() == "!!bool") {
		switch n.Value {
		case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
			return true, nil
		case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
			return false, nil
		}
	}
	return false, fmt.Errorf("expected true or false, got %s", kindOf(n))
}

// loader defaults, compiles and validates the merged jobs.
