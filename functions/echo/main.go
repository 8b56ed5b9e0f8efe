// Command echo is an Fn function that answers with what it receives.
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/functions/echo/echo"
)

func main() { fdk.Handle(fdk.HandlerFunc(echo.Serve)) }
