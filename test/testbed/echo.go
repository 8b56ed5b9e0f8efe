package testbed

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// AssertEchoes posts body to url, an echo function's trigger, and fails the
// test unless the answer is 200 with body back.
func AssertEchoes(t testing.TB, ctx context.Context, url, body string) {
	t.Helper()
	AssertEchoesVia(t, ctx, http.DefaultClient, url, body)
}

// AssertEchoesVia is AssertEchoes through client: one that resolves the
// url's host by a DNS server of the test's, say.
func AssertEchoesVia(t testing.TB, ctx context.Context, client *http.Client, url, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read the answer of %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || string(got) != body {
		t.Errorf("%s answered %d %q, want 200 %q", url, resp.StatusCode, got, body)
	}
}
