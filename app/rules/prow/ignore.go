package prow

import (
	"bytes"
	"io/fs"
	"path"
	"strings"

	gitignore "github.com/denormal/go-gitignore"
)

// ignoreFileName is Prow's ignore file. When a job config directory is
// loaded, a .prowignore in it or in any directory below it excludes the
// paths below that directory that its patterns match. The patterns are
// .gitignore's (comments, `!` to include again, a trailing `/` for
// directories, `**`); a pattern in a deeper .prowignore decides before
// those of the directories above it, and nothing below an ignored directory
// is read. A single config file given as such is read whatever ignore files
// exist. Prow matches with github.com/denormal/go-gitignore, and so does
// fix-status, for the same answers.
const ignoreFileName = ".prowignore"

// ignorer holds the .prowignore files of one job config directory.
type ignorer struct {
	// byDir is keyed by directory, relative to the job config directory
	// ("." for itself).
	byDir map[string]gitignore.GitIgnore
}

// read parses the .prowignore at p (in fsys) of directory dir. Prow skips an
// ignore file it cannot read and the lines it cannot parse, so this does
// too.
func (ig *ignorer) read(fsys fs.FS, p, dir string) {
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return
	}
	if ig.byDir == nil {
		ig.byDir = map[string]gitignore.GitIgnore{}
	}
	ig.byDir[dir] = gitignore.New(bytes.NewReader(data), dir, nil)
}

// ignored reports whether rel (slash-separated, relative to the job config
// directory) is excluded.
func (ig *ignorer) ignored(rel string, isDir bool) bool {
	if len(ig.byDir) == 0 {
		return false
	}
	m := ig.match(rel, isDir)
	return m != nil && m.Ignore()
}

// match is go-gitignore's repository matching: an ignored parent decides
// for everything below it; otherwise the .prowignore files are tried from
// the path's own directory up to the root, the first with a matching
// pattern deciding.
func (ig *ignorer) match(rel string, isDir bool) gitignore.Match {
	rel = path.Clean(rel)
	if rel == "." {
		return nil
	}
	parent, local := path.Split(rel)
	if m := ig.match(parent, true); m != nil && m.Ignore() {
		return m
	}
	parent = path.Clean(parent)
	for {
		if g := ig.byDir[parent]; g != nil {
			if m := g.Relative(local, isDir); m != nil {
				return m
			}
		}
		if parent == "." {
			return nil
		}
		var last string
		parent, last = path.Split(parent)
		parent = path.Clean(parent)
		local = last + "/" + local
	}
}

// defines reports whether rel, a path below the job config directory,
// defines jobs: a config file Prow would read, or an ignore file (which
// decides what Prow reads).
func (ig *ignorer) defines(rel string) bool {
	if path.Base(rel) == ignoreFileName {
		return true
	}
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, "..") {
			return false
		}
	}
	return isConfigFile(rel) && !ig.ignored(rel, false)
}

func isConfigFile(name string) bool {
	ext := path.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}
