package rules

import "strings"

// ChangedFile is one entry of a change list, as GitHub's PR files API lists
// it.
type ChangedFile struct {
	// Filename is the file's path after the change (a deleted file's path).
	Filename string
	// PreviousFilename is the path it was renamed from, empty otherwise.
	PreviousFilename string
}

// RuleFile is a repository path that defines jobs.
type RuleFile struct {
	// Path is a file, or a directory when it ends in "/", covering the
	// paths below it ("./" is the repository's root).
	Path string
	// Defines, when set on a directory, narrows it to the paths below it
	// that define jobs (Prow: the job config files no .prowignore excludes,
	// and the .prowignore files); nil means every path below it.
	Defines func(path string) bool
}

// RuleFiles are the paths that define the jobs of a repository: the sources
// report theirs (prow.Config.RuleFiles, actions.RuleFiles,
// explicit.RuleFiles) so that one list says whether a change touches the
// rules that judge it.
type RuleFiles []RuleFile

// Paths returns the paths, directories ending in "/".
func (rf RuleFiles) Paths() []string {
	out := make([]string, len(rf))
	for i, f := range rf {
		out[i] = f.Path
	}
	return out
}

// Defines reports whether path is one of the rule files.
func (rf RuleFiles) Defines(path string) bool {
	for _, f := range rf {
		dir, isDir := strings.CutSuffix(f.Path, "/")
		switch {
		case !isDir && path == f.Path:
			return true
		case isDir && (dir == "." || strings.HasPrefix(path, dir+"/")) && (f.Defines == nil || f.Defines(path)):
			return true
		}
	}
	return false
}

// Touches returns the rule files that files change, in order: a file
// touches the rules when its path or the path it was renamed from is a rule
// file, so adding, editing and deleting a rule file count, and so do
// renaming one away and renaming another file onto a rule file's path.
func (rf RuleFiles) Touches(files []ChangedFile) []string {
	var out []string
	for _, f := range files {
		switch {
		case rf.Defines(f.Filename):
			out = append(out, f.Filename)
		case f.PreviousFilename != "" && rf.Defines(f.PreviousFilename):
			out = append(out, f.PreviousFilename)
		}
	}
	return out
}
