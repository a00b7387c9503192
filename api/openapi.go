package api

import _ "embed"

// openAPIDocument is the OpenAPI 3.1 description of this API, served at
// GET /v1/openapi.json. Tests validate every response against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns a copy of the API's OpenAPI 3.1 document (JSON).
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }
