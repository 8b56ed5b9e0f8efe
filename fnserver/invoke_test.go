package fnserver_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fnproject/fn_go/clientv2/apps"
	"github.com/fnproject/fn_go/clientv2/fns"
	"github.com/fnproject/fn_go/clientv2/triggers"
	"github.com/fnproject/fn_go/modelsv2"

	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// probeInfo is what the probe function answers to "info".
type probeInfo struct {
	PID         int                 `json:"pid"`
	Env         map[string]string   `json:"env"`
	Header      map[string][]string `json:"header"`
	CallID      string              `json:"call_id"`
	AppID       string              `json:"app_id"`
	FnID        string              `json:"fn_id"`
	Method      string              `json:"method"`
	URL         string              `json:"url"`
	HasDeadline bool                `json:"has_deadline"`
}

func decodeInfo(t *testing.T, r reply) probeInfo {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("info call = %d %s", r.status, r.body)
	}
	var info probeInfo
	if err := json.Unmarshal([]byte(r.body), &info); err != nil {
		t.Fatalf("decode info %q: %v", r.body, err)
	}
	return info
}

func TestInvokeContract(t *testing.T) {
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "inv", map[string]string{"SHARED": "app", "APP_ONLY": "a", "FN_APP_ID": "spoofed"})
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe), Memory: 64,
		Config: map[string]string{"SHARED": "fn", "FN_ONLY": "f"}})
	url := invokeURL(t, fn)

	r := do(t, "POST", url, "info", http.Header{"X-Custom": {"v1", "v2"}, "Content-Type": {"text/plain"}})
	info := decodeInfo(t, r)
	for k, want := range map[string]string{
		"FN_APP_ID": app.ID, "FN_FN_ID": fn.ID, "FN_MEMORY": "64", "FN_TYPE": "sync", "FN_FORMAT": "http-stream",
		"SHARED": "fn", "APP_ONLY": "a", "FN_ONLY": "f",
	} {
		if info.Env[k] != want {
			t.Errorf("env %s = %q, want %q", k, info.Env[k], want)
		}
	}
	if !strings.HasPrefix(info.Env["FN_LISTENER"], "unix:/") || !strings.HasSuffix(info.Env["FN_LISTENER"], "/lsnr.sock") {
		t.Errorf("FN_LISTENER = %q", info.Env["FN_LISTENER"])
	}
	for _, k := range []string{"FN_APP_NAME", "FN_FN_NAME"} {
		if _, ok := info.Env[k]; ok {
			t.Errorf("%s is set; the Fn server does not set it", k)
		}
	}
	if got := info.Header["X-Custom"]; strings.Join(got, ",") != "v1,v2" {
		t.Errorf("X-Custom reached the function as %v", got)
	}
	if _, ok := info.Header["Fn-Intent"]; ok {
		t.Error("invoke added Fn-Intent")
	}
	if info.CallID == "" || r.header.Get("Fn-Call-Id") != info.CallID {
		t.Errorf("call id: function saw %q, caller got %q", info.CallID, r.header.Get("Fn-Call-Id"))
	}
	if !info.HasDeadline || len(info.Header["Fn-Deadline"]) != 1 {
		t.Errorf("no deadline reached the function: %v", info.Header["Fn-Deadline"])
	} else if _, err := time.Parse(time.RFC3339, info.Header["Fn-Deadline"][0]); err != nil {
		t.Errorf("Fn-Deadline: %v", err)
	}

	// Hot: the next call reuses the process.
	if again := decodeInfo(t, do(t, "POST", url, "info", nil)); again.PID != info.PID {
		t.Errorf("second call ran in pid %d, first in %d: process not reused", again.PID, info.PID)
	}

	// Echo, with the function's headers verbatim and status 200 even when the
	// function set another status (it travels as Fn-Http-Status).
	if r := do(t, "POST", url, "hello world", http.Header{"Content-Type": {"text/x-mine"}}); r.status != 200 || r.body != "hello world" || r.header.Get("Content-Type") != "text/x-mine" {
		t.Errorf("echo = %d %q %v", r.status, r.body, r.header)
	}
	if r := do(t, "POST", url, "status 404", nil); r.status != 200 || r.header.Get("Fn-Http-Status") != "404" || r.header.Get("X-Probe") != "yes" {
		t.Errorf("status via invoke = %d %v", r.status, r.header)
	}

	// Detached calls answer 202 at once.
	if r := do(t, "POST", url, "sleep 10", http.Header{"Fn-Invoke-Type": {"detached"}}); r.status != http.StatusAccepted || r.header.Get("Fn-Call-Id") == "" {
		t.Errorf("detached = %d %v", r.status, r.header)
	}
}

func TestHTTPTrigger(t *testing.T) {
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "web", nil)
	raw := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "raw", Image: fileImage(bins.raw), Config: map[string]string{"RAWFN_MODE": "ok"}})
	probe := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe)})
	mkTrigger := func(fnID, name, source string) string {
		tr, err := ts.client.Triggers.CreateTrigger(triggers.NewCreateTriggerParams().WithBody(&modelsv2.Trigger{
			Name: name, AppID: app.ID, FnID: fnID, Type: "http", Source: source}))
		if err != nil {
			t.Fatalf("create trigger: %v", err)
		}
		return tr.Payload.Annotations[fncontract.HTTPEndpointAnnotation].(string)
	}
	rawURL := mkTrigger(raw.ID, "raw", "/raw/path")
	probeURL := mkTrigger(probe.ID, "probe", "/probe")

	// Request side: headers renamed, method, URL and intent added.
	r := do(t, "PUT", rawURL+"?q=1&r=2", "payload", http.Header{"X-Foo": {"bar"}, "Content-Type": {"text/plain"}})
	var got http.Header
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("trigger answer %d %q: %v", r.status, r.body, err)
	}
	for k, want := range map[string]string{
		"Fn-Http-H-X-Foo":     "bar",
		"Content-Type":        "text/plain",
		"Fn-Http-Method":      "PUT",
		"Fn-Http-Request-Url": rawURL + "?q=1&r=2",
		"Fn-Intent":           "httprequest",
	} {
		if got.Get(k) != want {
			t.Errorf("function got %s = %q, want %q", k, got.Get(k), want)
		}
	}
	if got.Get("X-Foo") != "" || got.Get("Fn-Http-H-Content-Type") != "" {
		t.Errorf("unrenamed headers reached the function: %v", got)
	}
	if got.Get("Fn-Call-Id") == "" || got.Get("Fn-Deadline") == "" {
		t.Errorf("Fn-Call-Id / Fn-Deadline missing: %v", got)
	}
	// Response side: Fn-Http-Status is the status, Fn-Http-H-* lose their
	// prefix, Content-Type and Fn-Call-Id stay, the rest is dropped.
	if r.status != 201 || r.header.Get("X-Out") != "1" || r.header.Get("X-Dropped") != "" || r.header.Get("Fn-Http-Status") != "" ||
		r.header.Get("Content-Type") != "application/json" || r.header.Get("Fn-Call-Id") == "" || r.header.Get("X-Pid") != "" {
		t.Errorf("trigger answer = %d %v", r.status, r.header)
	}
	// The same function through /invoke: everything verbatim, status 200.
	ri := do(t, "POST", invokeURL(t, raw), "", nil)
	if ri.status != 200 || ri.header.Get("Fn-Http-Status") != "201" || ri.header.Get("X-Dropped") != "1" || ri.header.Get("Fn-Http-H-X-Out") != "1" {
		t.Errorf("invoke answer = %d %v", ri.status, ri.header)
	}

	// With the fdk: the status a handler writes is the caller's status.
	if r := do(t, "POST", probeURL, "status 418", nil); r.status != 418 || r.header.Get("X-Probe") != "yes" || r.body != "status 418" {
		t.Errorf("fdk status through trigger = %d %v %q", r.status, r.header, r.body)
	}
	info := decodeInfo(t, do(t, "DELETE", probeURL+"?a=b", "info", http.Header{"X-Foo": {"bar"}}))
	if info.Method != "DELETE" || info.URL != probeURL+"?a=b" || strings.Join(info.Header["X-Foo"], "") != "bar" {
		t.Errorf("fdk HTTP context: method %q url %q headers %v", info.Method, info.URL, info.Header)
	}
}

func TestTimeoutCrashAndInvalidResponse(t *testing.T) {
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "fail", nil)
	probe := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe), Timeout: ptr(int32(1))})
	url := invokeURL(t, probe)

	// Crash: 502, and the next call gets a fresh process.
	first := decodeInfo(t, do(t, "POST", url, "info", nil))
	if r := do(t, "POST", url, "crash", nil); r.status != 502 || message(t, r) != "error receiving function response" {
		t.Errorf("crash = %d %s", r.status, r.body)
	}
	second := decodeInfo(t, do(t, "POST", url, "info", nil))
	if second.PID == first.PID {
		t.Errorf("after a crash the call ran in the same pid %d", first.PID)
	}

	// A handler that outlives the deadline: the fdk answers 504 itself.
	if r := do(t, "POST", url, "sleep 2500", nil); r.status != 504 {
		t.Errorf("slow fdk handler = %d %s", r.status, r.body)
	}

	// A process that ignores its deadline is killed: 504, then a new process.
	hang := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "hang", Image: fileImage(bins.raw), Timeout: ptr(int32(1)), Config: map[string]string{"RAWFN_MODE": "hang"}})
	if r := do(t, "POST", invokeURL(t, hang), "", nil); r.status != 504 || message(t, r) != "Timed out" {
		t.Errorf("hanging function = %d %s", r.status, r.body)
	}
	if m := do(t, "GET", ts.url+"/metrics", "", nil).body; !strings.Contains(m, `fnhost_process_kills_total{reason="timeout"} 1`) {
		t.Errorf("no process killed for timeout:\n%s", grepLines(m, "fnhost_process_kills_total"))
	}

	// Any status but 200/502/504 from the container is an invalid response,
	// and the container is shut down.
	teapot := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "teapot", Image: fileImage(bins.raw), Config: map[string]string{"RAWFN_MODE": "status418"}})
	if r := do(t, "POST", invokeURL(t, teapot), "", nil); r.status != 502 || message(t, r) != "invalid function response" {
		t.Errorf("status 418 container = %d %s", r.status, r.body)
	}
	if m := do(t, "GET", ts.url+"/metrics", "", nil).body; !strings.Contains(m, `fnhost_process_kills_total{reason="failed"} 2`) {
		t.Errorf("crash and invalid response should count 2 failed kills:\n%s", grepLines(m, "fnhost_process_kills_total"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestStartFailures(t *testing.T) {
	ts := start(t, fnserver.Config{StartTimeout: 300 * time.Millisecond})
	app := ts.mkApp(t, "start", nil)
	for _, tc := range []struct {
		mode   string
		status int
		msg    string
	}{
		{"nosocket", 504, "Container initialization timed out, please ensure you are using the latest fdk and check the logs"},
		{"exit", 502, "Container failed to initialize, please ensure you are using the latest fdk and check the logs"},
		{"abssymlink", 502, "Container failed to initialize, please ensure you are using the latest fdk and check the logs"},
		{"notsocket", 502, "Container failed to initialize, please ensure you are using the latest fdk and check the logs"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: tc.mode, Image: fileImage(bins.raw), Config: map[string]string{"RAWFN_MODE": tc.mode}})
			if r := do(t, "POST", invokeURL(t, fn), "", nil); r.status != tc.status || message(t, r) != tc.msg {
				t.Errorf("%s = %d %s, want %d %s", tc.mode, r.status, r.body, tc.status, tc.msg)
			}
		})
	}
	// An executable the kernel cannot run fails like a container that
	// cannot start, and says why in the fn's log.
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	jfn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "junk", Image: fileImage(junk)})
	if r := do(t, "POST", invokeURL(t, jfn), "", nil); r.status != 502 || !strings.HasPrefix(message(t, r), "Container failed to initialize") {
		t.Errorf("junk executable = %d %s", r.status, r.body)
	}
	if logData, err := os.ReadFile(filepath.Join(ts.dataDir, "logs", jfn.ID+".log")); err != nil || !strings.Contains(string(logData), "exec format error") {
		t.Errorf("junk fn log = %q, %v", logData, err)
	}

	// The exit case left its stderr in the fn's log.
	l, err := ts.client.Fns.ListFns(fns.NewListFnsParams().WithAppID(&app.ID).WithName(ptr("exit")))
	if err != nil || len(l.Payload.Items) != 1 {
		t.Fatalf("find fn exit: %v", err)
	}
	logData, err := os.ReadFile(filepath.Join(ts.dataDir, "logs", l.Payload.Items[0].ID+".log"))
	if err != nil || !strings.Contains(string(logData), "rawfn: exiting on purpose") {
		t.Errorf("fn log = %q, %v", logData, err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	const limit = 3
	ts := start(t, fnserver.Config{MaxProcsPerFn: limit})
	app := ts.mkApp(t, "conc", nil)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe), Timeout: ptr(int32(60))})
	url := invokeURL(t, fn)

	// Each call waits until `limit` distinct processes have reached the
	// barrier: it only completes if the server runs `limit` processes at
	// once. The extra callers wait for a free process and reuse it.
	barrier := t.TempDir()
	const callers = limit + 2
	pids := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(t, "POST", url, "barrier "+barrier+" "+strconv.Itoa(limit), nil)
			if r.status != 200 {
				t.Errorf("caller %d = %d %s", i, r.status, r.body)
			}
			pids[i] = r.body
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for _, p := range pids {
		distinct[p] = true
	}
	if len(distinct) != limit {
		t.Errorf("calls ran in %d processes (%v), want exactly %d", len(distinct), pids, limit)
	}
}

func TestIdleReap(t *testing.T) {
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "idle", nil)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe), IdleTimeout: ptr(int32(1))})
	first := decodeInfo(t, do(t, "POST", invokeURL(t, fn), "info", nil))
	// Wait (bounded) for the reaper; no assertion on how long it takes.
	for i := 0; ; i++ {
		if pidGone(first.PID) {
			break
		}
		if i > 1000 {
			t.Fatalf("idle process %d still alive", first.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := do(t, "GET", ts.url+"/metrics", "", nil).body; !strings.Contains(m, `fnhost_process_kills_total{reason="idle"} 1`) {
		t.Errorf("idle kill not counted:\n%s", grepLines(m, "fnhost_process_kills_total"))
	}
	if second := decodeInfo(t, do(t, "POST", invokeURL(t, fn), "info", nil)); second.PID == first.PID {
		t.Error("call after reaping reused a dead pid")
	}
}

// pidGone reports whether pid no longer runs (a zombie counts as gone).
func pidGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndex(s, ")")
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestShutdownLeavesNoProcess(t *testing.T) {
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "shut", nil)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe)})
	url := invokeURL(t, fn)
	fnPID := decodeInfo(t, do(t, "POST", url, "info", nil)).PID
	r := do(t, "POST", url, "spawn", nil)
	child, err := strconv.Atoi(r.body)
	if r.status != 200 || err != nil {
		t.Fatalf("spawn = %d %q", r.status, r.body)
	}
	if pidGone(fnPID) || pidGone(child) {
		t.Fatal("function or its child not running before shutdown")
	}
	ts.stop()
	if !pidGone(fnPID) {
		t.Errorf("function process %d survived shutdown", fnPID)
	}
	// The child is killed with the group; init reaps it in its own time.
	for i := 0; !pidGone(child); i++ {
		if i > 500 {
			t.Fatalf("function's child %d survived shutdown", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMemoryLimit(t *testing.T) {
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "mem", nil)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe), Memory: 64})
	url := invokeURL(t, fn)
	if r := do(t, "POST", url, "alloc 8", nil); r.status != 200 {
		logData, _ := os.ReadFile(filepath.Join(ts.dataDir, "logs", fn.ID+".log"))
		t.Fatalf("alloc within the limit = %d %s\n%s", r.status, r.body, logData)
	}
	// The data limit is memory + proc's runtime overhead (256 MB) = 320 MB.
	if r := do(t, "POST", url, "alloc 512", nil); r.status != 502 {
		t.Errorf("alloc over the limit = %d %s, want 502", r.status, r.body)
	}
	if r := do(t, "POST", url, "alloc 8", nil); r.status != 200 {
		t.Errorf("alloc after the crash = %d %s", r.status, r.body)
	}
}

func TestRestartPersistence(t *testing.T) {
	dir := t.TempDir()
	ts := start(t, fnserver.Config{DataDir: dir})
	app := ts.mkApp(t, "persist", map[string]string{"K": "v"})
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "probe", Image: fileImage(bins.probe)})
	tr, err := ts.client.Triggers.CreateTrigger(triggers.NewCreateTriggerParams().WithBody(&modelsv2.Trigger{
		Name: "t", AppID: app.ID, FnID: fn.ID, Type: "http", Source: "/p"}))
	if err != nil {
		t.Fatalf("create trigger: %v", err)
	}
	ts.stop()

	ts2 := start(t, fnserver.Config{DataDir: dir})
	got, err := ts2.client.Apps.GetApp(apps.NewGetAppParams().WithAppID(app.ID))
	if err != nil || got.Payload.Name != "persist" || got.Payload.Config["K"] != "v" {
		t.Fatalf("app after restart: %v %+v", err, got)
	}
	gotFn, err := ts2.client.Fns.GetFn(fns.NewGetFnParams().WithFnID(fn.ID))
	if err != nil || gotFn.Payload.Image != fn.Image {
		t.Fatalf("fn after restart: %v %+v", err, gotFn)
	}
	if _, err := ts2.client.Triggers.GetTrigger(triggers.NewGetTriggerParams().WithTriggerID(tr.Payload.ID)); err != nil {
		t.Fatalf("trigger after restart: %v", err)
	}
	if r := do(t, "POST", ts2.url+"/t/persist/p", "echo after restart", nil); r.status != 200 || r.body != "echo after restart" {
		t.Errorf("trigger call after restart = %d %q", r.status, r.body)
	}
}

func TestImagesFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(bins.echo, filepath.Join(dir, "echo-bin")); err != nil {
		t.Fatal(err)
	}
	imagesFile := filepath.Join(dir, "images.yaml")
	if err := os.WriteFile(imagesFile, []byte("fnfleet/echo: ./echo-bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	images, err := fnserver.LoadImages(imagesFile)
	if err != nil {
		t.Fatalf("LoadImages: %v", err)
	}
	ts := start(t, fnserver.Config{Images: images})
	app := ts.mkApp(t, "img", nil)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "echo", Image: "fnfleet/echo:0.0.1"})
	if r := do(t, "POST", invokeURL(t, fn), "mapped", nil); r.status != 200 || r.body != "mapped" {
		t.Errorf("mapped image call = %d %q", r.status, r.body)
	}

	if err := os.WriteFile(imagesFile, []byte("- not a map\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fnserver.LoadImages(imagesFile); err == nil || !strings.Contains(err.Error(), "must be a YAML map of image name to executable path") {
		t.Errorf("LoadImages of a list: err = %v", err)
	}
}
