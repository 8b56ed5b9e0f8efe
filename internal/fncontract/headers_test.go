package fncontract_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/internal/fncontract"
)

func TestRequestToFunction(t *testing.T) {
	caller := http.Header{
		"X-Foo":        {"a", "b"},
		"content-type": {"text/plain"},
		"Connection":   {"close"},
		"Trailers":     {"X"},
	}
	invoke := fncontract.RequestToFunction(caller, nil)
	if want := "map[Content-Type:[text/plain] X-Foo:[a b]]"; fmt.Sprint(invoke) != want {
		t.Errorf("/invoke sends %v, want %s", invoke, want)
	}
	trigger := fncontract.RequestToFunction(caller, &fncontract.Trigger{Method: "PUT", URL: "http://h/t/app/x?q=1"})
	want := "map[Content-Type:[text/plain] Fn-Http-H-X-Foo:[a b] Fn-Http-Method:[PUT] Fn-Http-Request-Url:[http://h/t/app/x?q=1] Fn-Intent:[httprequest]]"
	if fmt.Sprint(trigger) != want {
		t.Errorf("a trigger sends %v, want %s", trigger, want)
	}
	if len(caller) != 4 {
		t.Errorf("the caller's headers changed: %v", caller)
	}
}

func TestResponseToCaller(t *testing.T) {
	fromFn := http.Header{
		"Content-Type":    {"application/json"},
		"Fn-Http-Status":  {"201"},
		"Fn-Http-H-X-Out": {"1"},
		"Fn-Http-H-":      {"no name"},
		"Fn-Call-Id":      {"from the function"},
		"X-Dropped":       {"1"},
	}
	status, h, err := fncontract.ResponseToCaller(fromFn, true)
	if want := "map[Content-Type:[application/json] X-Out:[1]]"; status != 201 || err != nil || fmt.Sprint(h) != want {
		t.Errorf("trigger caller gets %d %v (%v), want 201 %s", status, h, err, want)
	}
	status, h, err = fncontract.ResponseToCaller(fromFn, false)
	if status != 200 || err != nil || len(h) != len(fromFn) {
		t.Errorf("/invoke caller gets %d %v (%v), want 200 and the headers as they are", status, h, err)
	}
	for _, bad := range []string{"abc", "99", "1000"} {
		status, _, err := fncontract.ResponseToCaller(http.Header{"Fn-Http-Status": {bad}}, true)
		if status != 200 || err == nil || !strings.Contains(err.Error(), "is not a status code") {
			t.Errorf("Fn-Http-Status %q: %d %v, want 200 and an error saying it is not a status code", bad, status, err)
		}
	}
}

func TestStripHopByHop(t *testing.T) {
	h := http.Header{"Connection": {"close"}, "keep-alive": {"1"}, "Te": {"trailers"}, "Trailers": {"X"}, "X-Kept": {"1"}}
	fncontract.StripHopByHop(h)
	if fmt.Sprint(h) != "map[X-Kept:[1]]" {
		t.Errorf("left %v", h)
	}
}
