// Package fnserver is a process-based Fn server (`fnfleet fn-server`): it
// serves the Fn server's
// user-facing API (REST v2 for apps, fns and triggers, /invoke, HTTP
// triggers, ping, version and Prometheus metrics) and runs functions as local
// processes under the Fn container contract, without Docker. State lives in
// an embedded SQLite database in the data directory.
//
// To Fn clients (the fn CLI, fn_go) it is indistinguishable from an Fn
// server: same JSON models, status codes, error messages and header rewriting.
// It is embeddable: the local fleet runs one per member cluster.
//
// Its parts, from the wire down: this package routes, decodes and answers
// (errors.go is the one place that picks HTTP statuses); package models
// holds the objects and their rules; package store keeps them in SQLite;
// package proc runs the functions; internal/fncontract maps each call
// between caller and function.
package fnserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fnfleet/fnfleet/fnserver/proc"
	"github.com/fnfleet/fnfleet/fnserver/store"
)

// Config configures a Server.
type Config struct {
	// DataDir holds the database (fn.db) and the function logs
	// (logs/<fn id>.log). Required.
	DataDir string
	// Images maps image names to executables (see LoadImages).
	Images map[string]string
	// PublicURL is the base of the invokeEndpoint and httpEndpoint
	// annotations, like the Fn server's FN_PUBLIC_LB_URL. Default: the
	// scheme and host of each API request.
	PublicURL string
	// MaxRequestBytes bounds request bodies (API and calls). Default 10 MiB.
	MaxRequestBytes int64
	// MaxProcsPerFn bounds each function's concurrent processes. Default 8.
	MaxProcsPerFn int
	// StartTimeout bounds a new process's start. Default 5 s.
	StartTimeout time.Duration
	// ShutdownTimeout bounds the wait for calls in flight when Serve's
	// context ends. Default 30 s.
	ShutdownTimeout time.Duration
	// Version is reported by GET /version.
	Version string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is a process-based Fn server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	driver   *proc.Driver
	registry *prometheus.Registry
	metrics  callMetrics
	handler  http.Handler

	// baseCtx outlives requests: detached calls run under it.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup // detached calls; Add only under mu while !closing

	closeOnce sync.Once
	closeErr  error
}

// New opens the data directory and returns a server ready to Serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("fnserver: DataDir is required")
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 10 << 20
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "0.3.753-fnfleet"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "fn.db"))
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		st.Close()
		return nil, fmt.Errorf("register go metrics: %w", err)
	}
	drv, err := proc.New(proc.Config{
		MaxProcsPerFn: cfg.MaxProcsPerFn,
		StartTimeout:  cfg.StartTimeout,
		Registerer:    reg,
		Logger:        cfg.Logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	m, err := newCallMetrics(reg)
	if err != nil {
		drv.Close()
		st.Close()
		return nil, err
	}
	baseCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		store:    st,
		driver:   drv,
		registry: reg,
		metrics:  m,
		baseCtx:  baseCtx,
		cancel:   cancel,
	}
	s.handler = s.routes()
	return s, nil
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully: it
// stops accepting, lets calls in flight finish (up to ShutdownTimeout) and
// returns. It does not Close the server.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	shutdownDone := make(chan error, 1)
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		shutdownDone <- srv.Shutdown(sctx)
	})
	defer stop()
	s.log.Info("fn server listening", "addr", ln.Addr().String(), "data", s.cfg.DataDir)
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	if err := <-shutdownDone; err != nil {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}

// Close stops every function process, waits for detached calls and closes
// the database.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancel()
		derr := s.driver.Close()
		s.wg.Wait()
		serr := s.store.Close()
		s.closeErr = errors.Join(derr, serr)
	})
	return s.closeErr
}
