package fdk

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

// runConfig is the environment Serve needs, validated.
type runConfig struct {
	socket socketPaths
	fn     fnEnv
}

// socketPaths are the two names of the handshake: the agent waits for
// link, which must be a relative symlink to phony, the real socket.
type socketPaths struct {
	link, phony string
}

func parseEnv(env []string) (runConfig, error) {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		vars[k] = v
	}
	var cfg runConfig
	listener, ok := vars["FN_LISTENER"]
	if !ok || listener == "" {
		return cfg, fmt.Errorf("fdk: FN_LISTENER is not set: the Fn agent sets it to unix:<dir>/lsnr.sock; to run outside Fn, set it yourself (e.g. FN_LISTENER=unix:/tmp/iofs/lsnr.sock)")
	}
	path, ok := strings.CutPrefix(listener, "unix:")
	if !ok {
		return cfg, fmt.Errorf("fdk: FN_LISTENER=%q is not a unix: URL: this FDK serves only on a unix socket (e.g. unix:/tmp/iofs/lsnr.sock)", listener)
	}
	if path == "" || strings.HasSuffix(path, "/") {
		return cfg, fmt.Errorf("fdk: FN_LISTENER=%q names no socket file: give a file path such as unix:/tmp/iofs/lsnr.sock", listener)
	}
	if format := vars["FN_FORMAT"]; format != "" && format != "http-stream" {
		return cfg, fmt.Errorf("fdk: FN_FORMAT=%q is not supported: this FDK speaks only http-stream (set format http-stream or leave FN_FORMAT unset)", format)
	}
	path = filepath.Clean(path)
	cfg.socket = socketPaths{link: path, phony: socket.PhonyPath(path)}
	if err := socket.CheckPath(path); err != nil {
		return cfg, fmt.Errorf("fdk: %w: use a shorter FN_LISTENER directory", err)
	}
	cfg.fn = fnEnv{
		config:  vars,
		appID:   vars["FN_APP_ID"],
		fnID:    vars["FN_FN_ID"],
		appName: vars["FN_APP_NAME"],
		fnName:  vars["FN_FN_NAME"],
	}
	return cfg, nil
}
