package emulator

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// The AWS JSON 1.1 protocol as Cognito user pools speak it.
const (
	targetPrefix = "AWSCognitoIdentityProviderService."
	contentType  = "application/x-amz-json-1.1"
	maxBodyBytes = 1 << 20
)

// apiError is an error answer: an AWS error code and its message. Its HTTP status follows
// from the code.
type apiError struct {
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func (e *apiError) status() int {
	if s, ok := statusByCode[e.code]; ok {
		return s
	}
	return http.StatusBadRequest
}

func invalidParameter(msg string) *apiError { return &apiError{codeInvalidParameter, msg} }
func poolNotFound(poolID string) *apiError {
	return &apiError{codeResourceNotFound, msgPoolNotFound(poolID)}
}
func userNotFound() *apiError { return &apiError{codeUserNotFound, msgUserNotFound} }

// operationName returns the operation an X-Amz-Target header names, as it is written: it
// may not be one the emulator knows. A target without the service's prefix names no
// operation: "".
func operationName(r *http.Request) string {
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok {
		return ""
	}
	return name
}

// isJSONRequest reports whether r is a POST with the protocol's media type. Parameters
// such as charset are allowed, as the protocol's server tests require.
func isJSONRequest(r *http.Request, want string) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && err == nil && mediaType == want
}

// readBody reads a request body as the protocol frames it: empty means no members. A body
// too large is an API error; other errors mean the client went away.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, &apiError{codeSerialization, fmt.Sprintf("Request body exceeds %d bytes.", maxBodyBytes)}
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte("{}"), nil
	}
	return body, nil
}

// decode parses a request body into an operation's input. Members the input does not know
// are ignored, as AWS ignores them.
func decode(body []byte, in any) error {
	if err := json.Unmarshal(body, in); err != nil {
		return &apiError{codeSerialization, msgSerialization}
	}
	return nil
}

// writeJSON answers 200 with v as the body.
func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // cannot fail: outputs hold strings, numbers, bools, maps and slices
	write(w, http.StatusOK, buf.Bytes())
}

// writeError answers err the way AWS JSON services do: the code in the X-Amzn-ErrorType
// header and in the body's __type, with the message beside it. The errors of the service
// framework itself (coralErrors) come as AWS sends them: the code namespaced in __type, and
// neither header nor message. A request that never reached the service (codeBadRequest)
// gets the front door's own answer.
func writeError(w http.ResponseWriter, err *apiError) {
	if err.code == codeBadRequest {
		body, _ := json.Marshal(struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Type    string `json:"type"`
		}{err.code, err.message, "client"})
		writeAs(w, "application/json", err.status(), body)
		return
	}
	typ := err.code
	if coralErrors[err.code] {
		typ = coralNamespace + err.code
	} else {
		w.Header().Set("X-Amzn-ErrorType", err.code)
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{typ, err.message})
	write(w, err.status(), body)
}

// coralErrors are the answers of the framework behind AWS services, given before any
// operation runs, e.g. {"__type":"com.amazon.coral.service#UnknownOperationException"}
// (seen). Clients take the code from after the "#".
var coralErrors = map[string]bool{codeUnknownOperation: true}

const coralNamespace = "com.amazon.coral.service#"

func write(w http.ResponseWriter, status int, body []byte) {
	writeAs(w, contentType, status, body)
}

// writeAs answers with a body of the given media type.
func writeAs(w http.ResponseWriter, mediaType string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// dropConnection closes the client's connection without an answer. When the connection
// cannot be hijacked (HTTP/2, a recorder) it aborts the handler instead, which makes the
// server reset the stream or close the connection.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// accessKeyID returns the access key ID a SigV4 Authorization header names, or "" for an
// unsigned request. The rest of the header is neither checked nor kept.
func accessKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// newUUID returns a random version 4 UUID, the shape of request IDs and of users' sub.
func newUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
