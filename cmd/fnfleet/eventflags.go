package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/events"
)

// senderFlags are the flags every command that sends events shares: where
// to, and how the receiver knows the events are fnfleet's.
type senderFlags struct {
	to, secretFile, tokenFile string
}

func (f *senderFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.to, "to", "", "URL of the events function (its HTTP trigger or /invoke URL); required")
	fs.StringVar(&f.secretFile, "secret-file", "", "file holding the HMAC secret to sign events with (FNFLEET_EVENT_HMAC_SECRET of the receiver); mode 0600")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token to send instead of a signature (FNFLEET_EVENT_TOKEN of the receiver); mode 0600")
}

// markFiles tells shell completion that the secret flags take files.
func (f *senderFlags) markFiles(cmd *cobra.Command) {
	_ = cmd.MarkFlagFilename("secret-file")
	_ = cmd.MarkFlagFilename("token-file")
}

// signer checks the flags and returns the Signer they name: nil when the
// events go unsigned. Mistakes are usage errors.
func (f *senderFlags) signer() (events.Signer, error) {
	if f.to == "" {
		return nil, usageErrorf("--to URL is required: the URL of the events function, e.g. --to http://127.0.0.1:8080/t/fnfleet/events (a local fleet's fleet.json names it as eventsURL)")
	}
	switch {
	case f.secretFile != "" && f.tokenFile != "":
		return nil, usageErrorf("--secret-file and --token-file both given: pass the one the receiver is configured with")
	case f.secretFile != "":
		secret, err := readSecretFile("--secret-file", f.secretFile)
		if err != nil {
			return nil, err
		}
		return hmacSigner(secret), nil
	case f.tokenFile != "":
		token, err := readSecretFile("--token-file", f.tokenFile)
		if err != nil {
			return nil, err
		}
		return events.BearerToken(string(token)), nil
	}
	return nil, nil
}

// sender builds the events.Sender the flags describe, with opts.
func (f *senderFlags) sender(log *slog.Logger, opts ...events.Option) (*events.Sender, error) {
	sign, err := f.signer()
	if err != nil {
		return nil, err
	}
	if sign == nil {
		log.Warn("events are sent unsigned: pass --secret-file or --token-file if the receiver requires authentication")
	} else {
		opts = append(opts, events.WithSigner(sign))
	}
	s, err := events.NewSender(f.to, append([]events.Option{events.WithLogger(log)}, opts...)...)
	if err != nil {
		return nil, usageErrorf("--to %s: %v", f.to, err)
	}
	return s, nil
}

// hmacSigner signs each attempt with secret (cloudevent.Sign), at the
// attempt's time, so a retry carries a fresh timestamp.
func hmacSigner(secret []byte) events.Signer {
	return func(req *http.Request, e event.Event, now time.Time) error {
		sig, err := cloudevent.Sign(e, now, secret)
		if err != nil {
			return err
		}
		req.Header.Set(cloudevent.SignatureHeader, sig)
		return nil
	}
}

// readSecretFile reads a secret from path, which only its owner may read
// or write (mode 0600 or narrower). A trailing newline is not part of the
// secret. The secret itself never appears in an error.
func readSecretFile(flag, path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, usageErrorf("%s: %v", flag, err)
	}
	if !info.Mode().IsRegular() {
		return nil, usageErrorf("%s %s: not a regular file", flag, path)
	}
	if perm := info.Mode().Perm(); perm&^0o600 != 0 {
		return nil, usageErrorf("%s %s has mode %04o: a secret must be readable by its owner only; run chmod 600 %s", flag, path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("%s: %v", flag, err)
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return nil, usageErrorf("%s %s is empty: write the secret into it", flag, path)
	}
	return []byte(secret), nil
}

// commandLogger logs to the command's stderr at FNFLEET_LOG's level.
func commandLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: logLevel()}))
}

// serveMetrics serves reg's metrics on addr at /metrics until ctx ends;
// the returned function stops it (if ctx has not) and waits for it. An
// empty addr serves nothing.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) (wait func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: listen on %s: %w (pick a free address)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", ln.Addr().String(), "err", err.Error())
		}
	}()
	ctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { stop(); <-stopped; <-done }, nil
}

// noArgs refuses positional arguments: everything is set with flags.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected arguments %q: everything is set with flags", args)
	}
	return nil
}
