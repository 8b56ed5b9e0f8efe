package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
)

func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New("connection refused"), true},
		{fmt.Errorf("get: %w", apierrors.NewServiceUnavailable("starting")), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewInternalError(errors.New("boom")), true},
		{apierrors.NewNotFound(gr, "fn"), false},
		{apierrors.NewForbidden(gr, "fn", errors.New("no")), false},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), true},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func testObject() *resource.Info {
	return &resource.Info{Namespace: "fn", Name: "fn"}
}

func quietClient(ctx context.Context) *waitingClient {
	return &waitingClient{ctx: ctx, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestPoll(t *testing.T) {
	obj := testObject()
	t.Run("ready after a few checks, through transient errors", func(t *testing.T) {
		checks := 0
		err := quietClient(context.Background()).poll(time.Minute, func(context.Context) (*resource.Info, error) {
			checks++
			switch checks {
			case 1:
				return obj, apierrors.NewServiceUnavailable("restarting")
			case 2:
				return obj, nil
			}
			return nil, nil
		}, "ready")
		if err != nil || checks != 3 {
			t.Fatalf("err %v after %d checks, want success after 3", err, checks)
		}
	})
	t.Run("a permanent error ends the wait", func(t *testing.T) {
		err := quietClient(context.Background()).poll(time.Minute, func(context.Context) (*resource.Info, error) {
			return obj, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "fn", errors.New("denied"))
		}, "ready")
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "waiting for object fn/fn to be ready") {
			t.Fatalf("err = %v, want the forbidden error naming the object", err)
		}
	})
	t.Run("a check still running at the timeout completes and is reported", func(t *testing.T) {
		err := quietClient(context.Background()).poll(waitInterval/5, func(ctx context.Context) (*resource.Info, error) {
			time.Sleep(waitInterval / 2)
			return obj, ctx.Err()
		}, "ready")
		if err == nil || !strings.Contains(err.Error(), "waiting for object fn/fn to be ready: timed out after 50ms") ||
			errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout naming the object, without a cancelled check", err)
		}
	})
	t.Run("the timeout names the object and the last error", func(t *testing.T) {
		err := quietClient(context.Background()).poll(3*waitInterval/2, func(context.Context) (*resource.Info, error) {
			return obj, apierrors.NewServiceUnavailable("etcd is down")
		}, "deleted")
		for _, want := range []string{"waiting for object fn/fn to be deleted", "timed out after", "etcd is down"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to contain %q", err, want)
			}
		}
	})
	t.Run("the call's context ends the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := quietClient(ctx).poll(time.Hour, func(context.Context) (*resource.Info, error) { return obj, nil }, "ready")
		if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}
