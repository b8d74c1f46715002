# `make test`: static checks, the OpenAPI lint,
# then every Go test under the race detector (SQLite and PostgreSQL, the HTTP API against the OpenAPI document, the
# model adapters against local wire-format servers, and the real binary).
REDOCLY := @redocly/cli@2.77.0

.PHONY: test lint build

test: lint
	go test -race -count=1 -timeout 30m ./...

lint:
	go vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	REDOCLY_TELEMETRY=off npx --yes $(REDOCLY) lint --format=stylish httpapi/openapi/openapi.json

build:
	go build -o umami ./cmd/umami
