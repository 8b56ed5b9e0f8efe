module github.com/fnfleet/fnfleet/tools/externaldns

go 1.26.0
