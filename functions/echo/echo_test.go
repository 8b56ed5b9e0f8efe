package main

import (
	"context"
	"testing"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/functions/echo/echo"
)

func TestEcho(t *testing.T) {
	agents := map[string]*fdktest.Agent{
		"in-process": fdktest.Start(t, fdk.HandlerFunc(echo.Serve), fdktest.Options{}),
		"binary":     fdktest.StartBinary(t, fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo"), fdktest.Options{}),
	}
	for name, a := range agents {
		t.Run(name, func(t *testing.T) {
			for _, c := range []fdktest.Call{
				{Body: []byte(`{"hello":"fn"}`), ContentType: "application/json"},
				{Body: []byte("through a trigger"), ContentType: "text/plain", Trigger: &fdktest.Trigger{Method: "POST", URL: "http://fn/t/app/echo"}},
			} {
				r, err := a.Call(context.Background(), c)
				if err != nil {
					t.Fatal(err)
				}
				if r.CallerStatus != 200 || string(r.Body) != string(c.Body) || r.CallerHeader.Get("Content-Type") != c.ContentType {
					t.Fatalf("echo: %d %q %q, want 200 %q %q", r.CallerStatus, r.Body, r.CallerHeader.Get("Content-Type"), c.Body, c.ContentType)
				}
			}
		})
	}
}
