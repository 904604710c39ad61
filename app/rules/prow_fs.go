package rules

import (
	"io/fs"
	"path"
	"strings"
)

// LoadProwFS is LoadProw over a file system (a repository at one ref): each
// path is a slash-separated file or directory in fsys, listed and merged
// exactly as LoadProw does on disk, and named as given in origins and
// messages.
func LoadProwFS(fsys fs.FS, paths ...string) (*ProwConfig, error) {
	var files []*prowFile
	for _, p := range paths {
		files = append(files, prowListFS(fsys, path.Clean(strings.TrimPrefix(p, "/")))...)
	}
	for _, f := range files {
		if f.readErr != nil {
			continue
		}
		data, err := fs.ReadFile(fsys, f.path)
		if err != nil {
			f.readErr = &ProwConfigError{Path: f.path, Problem: "failed to read Prow config: " + prowPathError(err).Error()}
			continue
		}
		f.parse(data)
	}
	return prowFinish(files)
}

// prowListFS is prowListPath over fsys.
func prowListFS(fsys fs.FS, root string) []*prowFile {
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return []*prowFile{prowReadError(root, "failed to read Prow config: %v", prowPathError(err))}
	}
	if !info.IsDir() {
		return []*prowFile{{path: root}}
	}
	var files []*prowFile
	seen := map[string]string{}
	err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			files = append(files, prowReadError(p, "failed to read Prow config: %v", prowPathError(err)))
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), "..") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		base := path.Base(p)
		if first, ok := seen[base]; ok {
			files = append(files, prowReadError(p, "duplicated basename is not allowed: %s (also %s)", base, first))
			return nil
		}
		seen[base] = p
		files = append(files, &prowFile{path: p})
		return nil
	})
	if err != nil {
		files = append(files, prowReadError(root, "failed to read Prow config: %v", prowPathError(err)))
	}
	return files
}
