# Build context: the repository root, e.g.
#   docker build -f Dockerfile -t fnfleet/events:0.0.1 .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/func ./functions/events

# The binary is static (CGO_ENABLED=0): it needs no base image.
FROM scratch
COPY --from=build /out/func /func
# Fn runs functions as uid 1000 with a read-only root and a tmpfs /tmp.
USER 1000:1000
ENTRYPOINT ["/func"]
