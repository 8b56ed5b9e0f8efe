// Command probe is a test function built with the fdk. The first word of
// the request body picks what it does, so that one executable can exercise
// every path of the host:
//
//	echo ...      answers the body
//	info          answers JSON: pid, headers, env, call context
//	sleep MS      sleeps MS milliseconds, ignoring the deadline, then answers
//	crash         exits the process in the middle of the call
//	status N      answers status N with header X-Probe: yes
//	spawn         starts a child process (sleep) and answers its pid
//	alloc MB      allocates and touches MB megabytes
//	barrier DIR N marks DIR/<pid>, waits until DIR holds N marks, answers the pid
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
)

// Info is what "info" answers.
type Info struct {
	PID     int                 `json:"pid"`
	Env     map[string]string   `json:"env"`
	Header  map[string][]string `json:"header"`
	CallID  string              `json:"call_id"`
	AppID   string              `json:"app_id"`
	FnID    string              `json:"fn_id"`
	Method  string              `json:"method,omitempty"`
	URL     string              `json:"url,omitempty"`
	HasDead bool                `json:"has_deadline"`
}

func main() {
	fdk.Handle(fdk.HandlerFunc(handle))
}

func handle(ctx context.Context, in io.Reader, out io.Writer) {
	body, err := io.ReadAll(in)
	if err != nil {
		fdk.WriteStatus(out, 400)
		fmt.Fprintf(out, "read body: %v", err)
		return
	}
	word, arg, _ := strings.Cut(strings.TrimSpace(string(body)), " ")
	switch word {
	case "info":
		fc := fdk.GetContext(ctx)
		info := Info{PID: os.Getpid(), Env: map[string]string{}, Header: fc.Header(), CallID: fc.CallID(), AppID: fc.AppID(), FnID: fc.FnID()}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			info.Env[k] = v
		}
		if hc, ok := fc.(fdk.HTTPContext); ok {
			info.Method, info.URL = hc.RequestMethod(), hc.RequestURL()
		}
		_, info.HasDead = ctx.Deadline()
		fdk.SetHeader(out, "Content-Type", "application/json")
		_ = json.NewEncoder(out).Encode(info)
	case "sleep":
		ms, _ := strconv.Atoi(arg)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(out, "slept %d", ms)
	case "crash":
		os.Exit(3)
	case "status":
		n, _ := strconv.Atoi(arg)
		fdk.SetHeader(out, "X-Probe", "yes")
		fdk.SetHeader(out, "Content-Type", "text/plain")
		fdk.WriteStatus(out, n)
		fmt.Fprintf(out, "status %d", n)
	case "spawn":
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			fdk.WriteStatus(out, 500)
			fmt.Fprintf(out, "spawn: %v", err)
			return
		}
		fmt.Fprintf(out, "%d", cmd.Process.Pid)
	case "barrier":
		dir, n, _ := strings.Cut(arg, " ")
		want, _ := strconv.Atoi(n)
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
			fdk.WriteStatus(out, 500)
			fmt.Fprintf(out, "barrier: %v", err)
			return
		}
		for {
			entries, err := os.ReadDir(dir)
			if err == nil && len(entries) >= want {
				break
			}
			if ctx.Err() != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprintf(out, "%d", os.Getpid())
	case "alloc":
		mb, _ := strconv.Atoi(arg)
		buf := make([]byte, mb<<20)
		for i := range buf {
			if i%4096 == 0 {
				buf[i] = 1
			}
		}
		fmt.Fprintf(out, "allocated %d MB", len(buf)>>20)
	default:
		fdk.SetHeader(out, "Content-Type", fdk.GetContext(ctx).ContentType())
		_, _ = out.Write(body)
	}
}
