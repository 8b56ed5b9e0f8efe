package fnserver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/fnproject/fn_go/clientv2/apps"
	"github.com/fnproject/fn_go/clientv2/fns"
	"github.com/fnproject/fn_go/clientv2/triggers"
	"github.com/fnproject/fn_go/modelsv2"

	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

func ptr[T any](v T) *T { return &v }

func TestAppsCRUD(t *testing.T) {
	ts := start(t, fnserver.Config{})
	c := ts.client.Apps

	app := ts.mkApp(t, "myapp", map[string]string{"A": "1", "B": "2"})
	if app.ID == "" || app.Name != "myapp" || app.Config["A"] != "1" {
		t.Fatalf("created app = %+v", app)
	}
	if app.CreatedAt.String() == "" || app.UpdatedAt != app.CreatedAt {
		t.Errorf("timestamps: created %v updated %v", app.CreatedAt, app.UpdatedAt)
	}

	_, err := c.CreateApp(apps.NewCreateAppParams().WithBody(&modelsv2.App{Name: "myapp"}))
	var conflict *apps.CreateAppConflict
	if !errors.As(err, &conflict) || conflict.Payload.Message != "App already exists" {
		t.Errorf("duplicate app: err = %v, want 409 App already exists", err)
	}
	_, err = c.CreateApp(apps.NewCreateAppParams().WithBody(&modelsv2.App{Name: "my app!"}))
	var bad *apps.CreateAppBadRequest
	if !errors.As(err, &bad) || bad.Payload.Message != "Invalid app name" {
		t.Errorf("invalid name: err = %v, want 400 Invalid app name", err)
	}

	got, err := c.GetApp(apps.NewGetAppParams().WithAppID(app.ID))
	if err != nil || got.Payload.Name != "myapp" {
		t.Fatalf("get app: %v %+v", err, got)
	}
	_, err = c.GetApp(apps.NewGetAppParams().WithAppID("nope"))
	var nf *apps.GetAppNotFound
	if !errors.As(err, &nf) || nf.Payload.Message != "App not found" {
		t.Errorf("get missing app: err = %v, want 404 App not found", err)
	}

	// PUT merges: "" deletes a key, other keys are kept or set.
	upd, err := c.UpdateApp(apps.NewUpdateAppParams().WithAppID(app.ID).WithBody(&modelsv2.App{
		Config:      map[string]string{"A": "", "C": "3"},
		Annotations: map[string]interface{}{"team": "core"},
	}))
	if err != nil {
		t.Fatalf("update app: %v", err)
	}
	if want := map[string]string{"B": "2", "C": "3"}; fmt.Sprint(upd.Payload.Config) != fmt.Sprint(want) {
		t.Errorf("config after update = %v, want %v", upd.Payload.Config, want)
	}
	if upd.Payload.Annotations["team"] != "core" {
		t.Errorf("annotations after update = %v", upd.Payload.Annotations)
	}
	_, err = c.UpdateApp(apps.NewUpdateAppParams().WithAppID(app.ID).WithBody(&modelsv2.App{Name: "renamed"}))
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("rename app: err = %v, want 409", err)
	}

	// Lists are ordered by name, paged with next_cursor.
	for i := range 4 {
		ts.mkApp(t, fmt.Sprintf("page%d", i), nil)
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		p := apps.NewListAppsParams().WithPerPage(ptr(int64(2)))
		if cursor != "" {
			p = p.WithCursor(&cursor)
		}
		l, err := c.ListApps(p)
		if err != nil {
			t.Fatalf("list apps: %v", err)
		}
		for _, a := range l.Payload.Items {
			names = append(names, a.Name)
		}
		cursor = l.Payload.NextCursor
		if cursor == "" || pages > 5 {
			break
		}
	}
	if want := "myapp page0 page1 page2 page3"; strings.Join(names, " ") != want {
		t.Errorf("paged app names = %v, want %s", names, want)
	}
	l, err := c.ListApps(apps.NewListAppsParams().WithName(ptr("page2")))
	if err != nil || len(l.Payload.Items) != 1 || l.Payload.Items[0].Name != "page2" {
		t.Errorf("list apps by name: %v %+v", err, l)
	}

	if _, err := c.DeleteApp(apps.NewDeleteAppParams().WithAppID(app.ID)); err != nil {
		t.Fatalf("delete app: %v", err)
	}
	_, err = c.DeleteApp(apps.NewDeleteAppParams().WithAppID(app.ID))
	var delNF *apps.DeleteAppNotFound
	if !errors.As(err, &delNF) {
		t.Errorf("delete app twice: err = %v, want 404", err)
	}
}

func TestFnsAndTriggersCRUD(t *testing.T) {
	ts := start(t, fnserver.Config{PublicURL: "http://fn.example:8080/"})
	app := ts.mkApp(t, "app1", nil)

	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "hello", Image: "fnfleet/hello:0.1", Config: map[string]string{"X": "1"}})
	if fn.Memory != 128 || *fn.Timeout != 30 || *fn.IdleTimeout != 30 {
		t.Errorf("fn defaults: memory %d timeout %d idle %d, want 128 30 30", fn.Memory, *fn.Timeout, *fn.IdleTimeout)
	}
	if got, want := invokeURL(t, fn), "http://fn.example:8080/invoke/"+fn.ID; got != want {
		t.Errorf("invokeEndpoint = %s, want %s", got, want)
	}

	_, err := ts.client.Fns.CreateFn(fns.NewCreateFnParams().WithBody(&modelsv2.Fn{AppID: app.ID, Name: "hello", Image: "x"}))
	var conflict *fns.CreateFnConflict
	if !errors.As(err, &conflict) || conflict.Payload.Message != "Fn with specified name already exists" {
		t.Errorf("duplicate fn: err = %v", err)
	}
	_, err = ts.client.Fns.CreateFn(fns.NewCreateFnParams().WithBody(&modelsv2.Fn{AppID: "missing", Name: "x", Image: "x"}))
	var appNF *fns.CreateFnNotFound
	if !errors.As(err, &appNF) || appNF.Payload.Message != "App not found" {
		t.Errorf("fn in missing app: err = %v", err)
	}
	for _, tc := range []struct {
		fn   modelsv2.Fn
		want string
	}{
		{modelsv2.Fn{Name: "a/b", Image: "x"}, "name must be a valid string"},
		{modelsv2.Fn{Name: "n"}, "Missing image on Fn"},
		{modelsv2.Fn{Name: "n", Image: "x", Timeout: ptr(int32(301))}, "timeout value is out of range, must be between 0 and 300"},
		{modelsv2.Fn{Name: "n", Image: "x", Memory: 9000}, "memory value is out of range. It should be between 0 and 8192"},
	} {
		tc.fn.AppID = app.ID
		_, err := ts.client.Fns.CreateFn(fns.NewCreateFnParams().WithBody(&tc.fn))
		var bad *fns.CreateFnBadRequest
		if !errors.As(err, &bad) || bad.Payload.Message != tc.want {
			t.Errorf("create fn %+v: err = %v, want 400 %q", tc.fn, err, tc.want)
		}
	}

	upd, err := ts.client.Fns.UpdateFn(fns.NewUpdateFnParams().WithFnID(fn.ID).WithBody(&modelsv2.Fn{
		Image: "fnfleet/hello:0.2", Memory: 256, Config: map[string]string{"X": "", "Y": "2"},
	}))
	if err != nil {
		t.Fatalf("update fn: %v", err)
	}
	if p := upd.Payload; p.Image != "fnfleet/hello:0.2" || p.Memory != 256 || *p.Timeout != 30 || fmt.Sprint(p.Config) != "map[Y:2]" || p.Name != "hello" {
		t.Errorf("updated fn = %+v", p)
	}

	for _, n := range []string{"b", "c", "d"} {
		ts.mkFn(t, app.ID, &modelsv2.Fn{Name: n, Image: "x"})
	}
	l, err := ts.client.Fns.ListFns(fns.NewListFnsParams().WithAppID(&app.ID).WithPerPage(ptr(int64(3))))
	if err != nil || len(l.Payload.Items) != 3 || l.Payload.NextCursor == "" {
		t.Fatalf("list fns page 1: %v %+v", err, l)
	}
	l2, err := ts.client.Fns.ListFns(fns.NewListFnsParams().WithAppID(&app.ID).WithPerPage(ptr(int64(3))).WithCursor(&l.Payload.NextCursor))
	if err != nil || len(l2.Payload.Items) != 1 || l2.Payload.Items[0].Name != "hello" || l2.Payload.NextCursor != "" {
		t.Fatalf("list fns page 2: %v %+v", err, l2)
	}
	if invokeURL(t, l2.Payload.Items[0]) == "" {
		t.Error("listed fn lacks its invokeEndpoint")
	}

	// Triggers.
	tr, err := ts.client.Triggers.CreateTrigger(triggers.NewCreateTriggerParams().WithBody(&modelsv2.Trigger{
		Name: "hello-trigger", AppID: app.ID, FnID: fn.ID, Type: "http", Source: "/hello",
	}))
	if err != nil {
		t.Fatalf("create trigger: %v", err)
	}
	if got := tr.Payload.Annotations[fncontract.HTTPEndpointAnnotation]; got != "http://fn.example:8080/t/app1/hello" {
		t.Errorf("httpEndpoint = %v", got)
	}
	_, err = ts.client.Triggers.CreateTrigger(triggers.NewCreateTriggerParams().WithBody(&modelsv2.Trigger{
		Name: "other", AppID: app.ID, FnID: fn.ID, Type: "http", Source: "/hello",
	}))
	var srcConflict *triggers.CreateTriggerConflict
	if !errors.As(err, &srcConflict) || srcConflict.Payload.Message != "Trigger with the same type and source exists on this app" {
		t.Errorf("same source: err = %v", err)
	}
	_, err = ts.client.Triggers.CreateTrigger(triggers.NewCreateTriggerParams().WithBody(&modelsv2.Trigger{
		Name: "nos", AppID: app.ID, FnID: fn.ID, Type: "http", Source: "hello",
	}))
	var badSrc *triggers.CreateTriggerBadRequest
	if !errors.As(err, &badSrc) || badSrc.Payload.Message != "Missing Trigger Source Prefix '/'" {
		t.Errorf("source without '/': err = %v", err)
	}
	tl, err := ts.client.Triggers.ListTriggers(triggers.NewListTriggersParams().WithAppID(&app.ID).WithFnID(&fn.ID))
	if err != nil || len(tl.Payload.Items) != 1 || tl.Payload.Items[0].Annotations[fncontract.HTTPEndpointAnnotation] == nil {
		t.Fatalf("list triggers: %v %+v", err, tl)
	}
	tu, err := ts.client.Triggers.UpdateTrigger(triggers.NewUpdateTriggerParams().WithTriggerID(tr.Payload.ID).WithBody(&modelsv2.Trigger{Source: "/hi"}))
	if err != nil || tu.Payload.Source != "/hi" {
		t.Fatalf("update trigger: %v %+v", err, tu)
	}
	if r := do(t, http.MethodGet, ts.url+"/v2/triggers", "", nil); r.status != 400 || message(t, r) != "Missing App ID on Trigger" {
		t.Errorf("list triggers without app_id: %d %s", r.status, r.body)
	}

	// Deleting the fn deletes its triggers; deleting the app its fns.
	if _, err := ts.client.Fns.DeleteFn(fns.NewDeleteFnParams().WithFnID(fn.ID)); err != nil {
		t.Fatalf("delete fn: %v", err)
	}
	_, err = ts.client.Triggers.GetTrigger(triggers.NewGetTriggerParams().WithTriggerID(tr.Payload.ID))
	var trNF *triggers.GetTriggerNotFound
	if !errors.As(err, &trNF) {
		t.Errorf("trigger of deleted fn: err = %v, want 404", err)
	}
	if _, err := ts.client.Apps.DeleteApp(apps.NewDeleteAppParams().WithAppID(app.ID)); err != nil {
		t.Fatalf("delete app: %v", err)
	}
	if r := do(t, http.MethodGet, ts.url+"/v2/fns?app_id="+app.ID, "", nil); r.status != 200 || !strings.Contains(r.body, `"items":[]`) {
		t.Errorf("fns of deleted app: %d %s", r.status, r.body)
	}
}

func TestBadInput(t *testing.T) {
	ts := start(t, fnserver.Config{MaxRequestBytes: 4096})
	app := ts.mkApp(t, "bad", nil)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "nowhere", Image: "registry.example/nowhere:1"})

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"malformed JSON", "POST", "/v2/apps", `{"name": `, 400, "Invalid JSON: unexpected EOF"},
		{"wrong JSON type", "POST", "/v2/apps", `{"name": 7}`, 400, `Invalid JSON: field "name" must be a JSON string, not number`},
		{"empty body", "POST", "/v2/fns", ``, 400, "Invalid JSON: the request body is empty"},
		{"missing name", "POST", "/v2/apps", `{}`, 400, "Missing Name"},
		{"id on create", "POST", "/v2/apps", `{"id": "x", "name": "y"}`, 400, "App ID cannot be supplied on create"},
		{"too long name", "POST", "/v2/apps", `{"name": "` + strings.Repeat("a", 256) + `"}`, 400, "App name must be 255 characters or less"},
		{"bad annotation", "POST", "/v2/apps", `{"name": "z", "annotations": {"k": ""}}`, 400, "Invalid annotation value, annotation values may only be non-empty strings, numbers, objects, or arrays"},
		{"missing app", "POST", "/v2/fns", `{"app_id": "nope", "name": "f", "image": "x"}`, 404, "App not found"},
		{"fns without app", "GET", "/v2/fns", ``, 400, "Missing AppID on Fn"},
		{"bad cursor", "GET", "/v2/apps?cursor=%25%25", ``, 400, "Invalid cursor: pass the next_cursor value of a previous page unchanged"},
		{"body over limit", "POST", "/v2/apps", `{"name": "` + strings.Repeat("a", 5000) + `"}`, 413, "Content-Length too large for this server, 5012 > max 4096"},
		{"invoke over limit", "POST", "/invoke/" + fn.ID, strings.Repeat("a", 5000), 413, "Content-Length too large for this server, 5000 > max 4096"},
		{"unknown fn", "POST", "/invoke/nope", ``, 404, "Fn not found"},
		{"image resolves to nothing", "POST", "/invoke/" + fn.ID, ``, 404, "Failed to pull image 'registry.example/nowhere:1': image not found: not a file:/// URL and not in the images file (fn-server --images FILE)"},
		{"unknown trigger app", "GET", "/t/nope/x", ``, 404, "App not found"},
		{"unknown trigger", "GET", "/t/bad/x", ``, 404, "Trigger not found"},
		{"unknown path", "GET", "/v3/apps", ``, 404, "Path not found: GET /v3/apps"},
		{"wrong method", "PATCH", "/v2/apps", ``, 405, "Method not allowed: PATCH /v2/apps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, ts.url+tc.path, tc.body, http.Header{"Content-Type": {"application/json"}})
			if r.status != tc.status || message(t, r) != tc.msg {
				t.Errorf("%s %s = %d %s, want %d %q", tc.method, tc.path, r.status, r.body, tc.status, tc.msg)
			}
		})
	}

	// Nothing was half-written: only the app and fn made above exist.
	l, err := ts.client.Apps.ListApps(apps.NewListAppsParams())
	if err != nil || len(l.Payload.Items) != 1 {
		t.Errorf("apps after bad input: %v %+v", err, l)
	}
	fl, err := ts.client.Fns.ListFns(fns.NewListFnsParams().WithAppID(&app.ID))
	if err != nil || len(fl.Payload.Items) != 1 {
		t.Errorf("fns after bad input: %v %+v", err, fl)
	}
}

func TestPingVersionMetrics(t *testing.T) {
	ts := start(t, fnserver.Config{Version: "9.9.9"})
	if r := do(t, "GET", ts.url+"/", "", nil); r.status != 200 || !strings.Contains(r.body, `"hello":"world!"`) {
		t.Errorf("ping = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.url+"/version", "", nil); r.status != 200 || strings.TrimSpace(r.body) != `{"version":"9.9.9"}` {
		t.Errorf("version = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.url+"/metrics", "", nil); r.status != 200 || !strings.Contains(r.body, "fnhost_processes 0") || !strings.Contains(r.body, "go_goroutines") {
		t.Errorf("metrics = %d %s", r.status, r.body)
	}
}

// The local fleet binds one server per member cluster to its own loopback
// address (127.0.1.N); the whole of 127.0.0.0/8 is loopback on Linux.
func TestServeOnLoopbackAlias(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := fnserver.New(ctx, fnserver.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.1.7:0")
	if err != nil {
		t.Fatalf("listen on 127.0.1.7: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	r := do(t, "POST", "http://"+ln.Addr().String()+"/v2/apps", `{"name":"member"}`, nil)
	if r.status != 200 || !strings.Contains(r.body, `"name":"member"`) {
		t.Errorf("create app on 127.0.1.7 = %d %s", r.status, r.body)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
