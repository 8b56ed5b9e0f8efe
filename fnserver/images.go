package fnserver

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// LoadImages reads an images file: a YAML map from image name to the path
// of the executable that stands for it, e.g.
//
//	fnfleet/placement:0.1.0: /home/me/fnfleet/bin/placement
//	fnfleet/echo: ./bin/echo
//
// Relative paths are taken from the file's directory.
func LoadImages(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read images file: %w", err)
	}
	var m map[string]string
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		return nil, fmt.Errorf("images file %s must be a YAML map of image name to executable path: %w", path, err)
	}
	dir := filepath.Dir(path)
	for image, p := range m {
		if p == "" {
			return nil, fmt.Errorf("images file %s: image %q maps to an empty path", path, image)
		}
		if !filepath.IsAbs(p) {
			abs, err := filepath.Abs(filepath.Join(dir, p))
			if err != nil {
				return nil, fmt.Errorf("images file %s: image %q: %w", path, image, err)
			}
			m[image] = abs
		}
	}
	return m, nil
}

// executable is what an fn's image resolved to.
type executable struct {
	path     string
	revision string // changes when the file is rebuilt
}

// resolveImage maps an fn's image to an executable: file:///abs/path names
// it directly; anything else is looked up in the images map, first exactly,
// then without its tag. Failures answer as the Fn server does when it cannot
// pull an image (404, "Failed to pull image ...").
func resolveImage(images map[string]string, image string) (executable, error) {
	var path string
	if strings.HasPrefix(image, "file://") {
		u, err := url.Parse(image)
		if err != nil || u.Host != "" || !filepath.IsAbs(u.Path) {
			return executable{}, pullError(image, "a file image must be file:///absolute/path/to/executable")
		}
		path = u.Path
	} else {
		p, ok := images[image]
		if !ok {
			p, ok = images[stripTag(image)]
		}
		if !ok {
			return executable{}, pullError(image, "image not found: not a file:/// URL and not in the images file (fn-server --images FILE)")
		}
		path = p
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return executable{}, pullError(image, fmt.Sprintf("executable %s: %v", path, err))
	case !fi.Mode().IsRegular():
		return executable{}, pullError(image, fmt.Sprintf("executable %s is not a regular file", path))
	case fi.Mode().Perm()&0o111 == 0:
		return executable{}, pullError(image, fmt.Sprintf("%s is not executable (chmod +x it)", path))
	}
	return executable{
		path:     path,
		revision: strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "-" + strconv.FormatInt(fi.Size(), 10),
	}, nil
}

// stripTag removes a ":tag" suffix (not a registry's ":port").
func stripTag(image string) string {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return image
	}
	return image[:i]
}

func pullError(image, why string) error {
	return errorf(http.StatusNotFound, "Failed to pull image '%s': %s", image, why)
}
