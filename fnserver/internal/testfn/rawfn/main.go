// Command rawfn is a test function that speaks the socket contract without
// the fdk, to break it on purpose. RAWFN_MODE (set through fn config) picks
// the misbehaviour:
//
//	nosocket    never creates its socket
//	exit        exits before creating its socket
//	abssymlink  links lsnr.sock to an absolute path
//	notsocket   makes lsnr.sock a regular file
//	status418   answers every call with 418
//	hang        never answers a call
//	ok          answers 200: its pid in X-Pid, the request headers as JSON,
//	            and the response headers an HTTP-trigger-aware FDK would
//	            send (Fn-Http-Status: 201, Fn-Http-H-X-Out, X-Dropped)
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rawfn:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := os.Getenv("RAWFN_MODE")
	sock := strings.TrimPrefix(os.Getenv("FN_LISTENER"), "unix:")
	dir := filepath.Dir(sock)
	phony := filepath.Join(dir, "phonylsnr.sock")
	switch mode {
	case "nosocket":
		time.Sleep(time.Hour)
		return nil
	case "exit":
		return fmt.Errorf("exiting on purpose")
	case "notsocket":
		if err := os.WriteFile(sock, []byte("x"), 0o644); err != nil {
			return err
		}
		time.Sleep(time.Hour)
		return nil
	}
	ln, err := net.Listen("unix", phony)
	if err != nil {
		return err
	}
	target := "phonylsnr.sock"
	if mode == "abssymlink" {
		target = phony
	}
	if err := os.Symlink(target, sock); err != nil {
		return err
	}
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Pid", fmt.Sprint(os.Getpid()))
		switch mode {
		case "status418":
			w.WriteHeader(http.StatusTeapot)
		case "hang":
			time.Sleep(time.Hour)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Fn-Http-Status", "201")
			w.Header().Set("Fn-Http-H-X-Out", "1")
			w.Header().Set("X-Dropped", "1")
			_ = json.NewEncoder(w).Encode(r.Header)
		}
	}))
}
