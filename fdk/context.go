package fdk

import (
	"context"
	"maps"
	"net/http"
)

// Context describes the call being served and the function's configuration.
// Obtain it with GetContext.
type Context interface {
	// Config returns the function's configuration: every environment
	// variable the Fn agent set (app config, fn config and FN_* values).
	// The map is a fresh copy on each call; changing it affects nothing.
	Config() map[string]string
	// Header returns the caller's request headers. For HTTP-trigger calls
	// the Fn-Http-H- prefix is removed (Content-Type arrives as it is); for
	// /invoke calls the headers are exactly those the agent sent.
	Header() http.Header
	// ContentType is the caller's Content-Type.
	ContentType() string
	// CallID is the Fn call id (Fn-Call-Id).
	CallID() string
	AppID() string
	FnID() string
	// AppName and FnName are empty on the open-source Fn server, which does
	// not set FN_APP_NAME and FN_FN_NAME.
	AppName() string
	FnName() string
}

// HTTPContext is the Context of a call that came through an HTTP trigger.
//
//	if hc, ok := fdk.GetContext(ctx).(fdk.HTTPContext); ok { ... }
type HTTPContext interface {
	Context
	// RequestURL is the caller's full URL, with query (Fn-Http-Request-Url).
	RequestURL() string
	// RequestMethod is the caller's HTTP method (Fn-Http-Method).
	RequestMethod() string
}

type contextKey struct{}

// fnEnv is what the Fn agent tells a function through its environment.
type fnEnv struct {
	config                       map[string]string
	appID, fnID, appName, fnName string
}

type callContext struct {
	env    *fnEnv
	header http.Header
	callID string
}

func (c *callContext) Config() map[string]string { return maps.Clone(c.env.config) }
func (c *callContext) Header() http.Header       { return c.header }
func (c *callContext) ContentType() string       { return c.header.Get("Content-Type") }
func (c *callContext) CallID() string            { return c.callID }
func (c *callContext) AppID() string             { return c.env.appID }
func (c *callContext) FnID() string              { return c.env.fnID }
func (c *callContext) AppName() string           { return c.env.appName }
func (c *callContext) FnName() string            { return c.env.fnName }

type httpCallContext struct {
	callContext
	requestURL, requestMethod string
}

func (c *httpCallContext) RequestURL() string    { return c.requestURL }
func (c *httpCallContext) RequestMethod() string { return c.requestMethod }

// GetContext returns the Context of the call ctx belongs to. Outside a call
// it returns an empty Context (no config, no headers), never nil.
func GetContext(ctx context.Context) Context {
	if c, ok := ctx.Value(contextKey{}).(Context); ok {
		return c
	}
	return &callContext{env: &fnEnv{}, header: http.Header{}}
}

// WithContext returns ctx carrying fc, so that GetContext(ctx) returns fc.
// It lets unit tests call a Handler directly with a Context of their making.
func WithContext(ctx context.Context, fc Context) context.Context {
	return context.WithValue(ctx, contextKey{}, fc)
}
