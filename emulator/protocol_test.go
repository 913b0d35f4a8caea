package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulklink/bulklink/emulator"
)

// post sends an unsigned AWS JSON 1.1 request, as a client without the SDK would.
func post(t *testing.T, url, target, body string) (status int, header http.Header, answer map[string]any) {
	t.Helper()
	return send(t, http.MethodPost, url, "application/x-amz-json-1.1", target, body)
}

// send sends an unsigned request with the given method and Content-Type ("" for none), and
// decodes the JSON answer.
func send(t *testing.T, method, url, contentType, target, body string) (status int, header http.Header, answer map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatalf("body %q is not JSON: %v", raw, err)
	}
	return resp.StatusCode, resp.Header, answer
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, emulator.Options{})
	const getUser = "AWSCognitoIdentityProviderService.AdminGetUser"
	// AWS's service framework answers unknown operations itself, with a namespaced __type
	// and no X-Amzn-ErrorType (seen).
	coral := map[string]string{"UnknownOperationException": "com.amazon.coral.service#UnknownOperationException"}
	for _, tc := range []struct {
		name, target, body string
		status             int
		code, msg          string
	}{
		{"unsigned call", getUser, `{"UserPoolId":"us-east-1_Example1","Username":"alice"}`, 200, "", ""},
		{"unknown operation", "AWSCognitoIdentityProviderService.AdminFrobnicateUser", `{}`, 400, "UnknownOperationException", ""},
		{"no target", "", `{}`, 400, "UnknownOperationException", ""},
		{"target without the service's prefix", "AdminGetUser", `{"UserPoolId":"us-east-1_Example1","Username":"alice"}`, 400, "UnknownOperationException", ""},
		{"another service's target", "AWSCognitoIdentityService.AdminGetUser", `{"UserPoolId":"us-east-1_Example1","Username":"alice"}`, 400, "UnknownOperationException", ""},
		{"malformed JSON", getUser, `{"UserPoolId": `, 400, "SerializationException", "Unable to parse the request body as JSON."},
		{"wrong member type", getUser, `{"UserPoolId": 5, "Username": "alice"}`, 400, "SerializationException", "Unable to parse the request body as JSON."},
		{"one member missing", getUser, `{"Username":"alice"}`, 400, "InvalidParameterException",
			"1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null"},
		{"empty body", getUser, ``, 400, "InvalidParameterException",
			"2 validation errors detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'username' failed to satisfy constraint: Member must not be null"},
		{"sensitive value left out", getUser, `{"UserPoolId":"us-east-1_Example1","Username":""}`, 400, "InvalidParameterException",
			`2 validation errors detected: Value at 'username' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+; ` +
				"Value at 'username' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"link members missing", "AWSCognitoIdentityProviderService.AdminLinkProviderForUser", `{"UserPoolId":"us-east-1_Example1"}`, 400, "InvalidParameterException",
			"2 validation errors detected: Value null at 'destinationUser' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'sourceUser' failed to satisfy constraint: Member must not be null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, answer := post(t, srv.URL, tc.target, tc.body)
			if status != tc.status {
				t.Errorf("got status %d, want %d", status, tc.status)
			}
			if got := header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
				t.Errorf("got Content-Type %q", got)
			}
			if id := header.Get("x-amzn-RequestId"); !uuidPattern.MatchString(id) {
				t.Errorf("got request ID %q, want a UUID", id)
			}
			wantHeader, wantType := tc.code, tc.code
			if namespaced, ok := coral[tc.code]; ok {
				wantHeader, wantType = "", namespaced
			}
			if got := header.Get("X-Amzn-ErrorType"); got != wantHeader {
				t.Errorf("got X-Amzn-ErrorType %q, want %q", got, wantHeader)
			}
			if tc.code == "" {
				return
			}
			if answer["__type"] != wantType {
				t.Errorf("got __type %v, want %s", answer["__type"], wantType)
			}
			if msg, _ := answer["message"].(string); msg != tc.msg {
				t.Errorf("got message %q, want %q", msg, tc.msg)
			}
		})
	}
	if got := srv.Calls("AdminFrobnicateUser"); got != 1 {
		t.Errorf("got %d calls of the unknown operation, want 1", got)
	}
	if got := srv.Calls(""); got != 3 {
		t.Errorf("got %d calls of no operation, want 3: those without a target or the service's prefix", got)
	}
}

// TestContentType checks the answer to a request in another media type than the protocol's:
// the 404 Cognito's front door gives to what it cannot route (docs/emulator.md).
func TestContentType(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, emulator.Options{})
	const getUser = `{"UserPoolId":"us-east-1_Example1","Username":"alice"}`
	for _, tc := range []struct {
		name, method, contentType string
		status                    int
	}{
		{"the protocol's", http.MethodPost, "application/x-amz-json-1.1", 200},
		{"with a charset", http.MethodPost, "application/x-amz-json-1.1; charset=utf-8", 200},
		{"upper case", http.MethodPost, "Application/X-Amz-JSON-1.1", 200},
		{"plain JSON", http.MethodPost, "application/json", 404},
		{"JSON 1.0", http.MethodPost, "application/x-amz-json-1.0", 404},
		{"a form", http.MethodPost, "application/x-www-form-urlencoded", 404},
		{"CBOR", http.MethodPost, "application/cbor", 404},
		{"none", http.MethodPost, "", 404},
		{"malformed", http.MethodPost, "application/", 404},
		{"a GET", http.MethodGet, "application/x-amz-json-1.1", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, answer := send(t, tc.method, srv.URL, tc.contentType, "AWSCognitoIdentityProviderService.AdminGetUser", getUser)
			if status != tc.status {
				t.Fatalf("got status %d (%v), want %d", status, answer, tc.status)
			}
			if status == 200 {
				return
			}
			want := map[string]any{"code": "BadRequest", "message": "The server did not understand the operation that was requested.", "type": "client"}
			if fmt.Sprint(answer) != fmt.Sprint(want) || header.Get("X-Amzn-ErrorType") != "" {
				t.Errorf("got %v, X-Amzn-ErrorType %q; want %v and no header", answer, header.Get("X-Amzn-ErrorType"), want)
			}
		})
	}
}

// TestSlowClient checks that a client that stops sending in the middle of a request loses its
// connection after the read timeout, and holds no other client up meanwhile, unless the
// connections are all taken. Only lower bounds are timed: a loaded machine makes calls late,
// never early.
func TestSlowClient(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	// stall opens a connection and sends a call whose body is shorter than its
	// Content-Length; it returns a channel that tells when the server closed the
	// connection, and what it had sent.
	stall := func(t *testing.T, url string) <-chan string {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: emulator\r\nContent-Type: application/x-amz-json-1.1\r\n"+
			"X-Amz-Target: AWSCognitoIdentityProviderService.AdminGetUser\r\nContent-Length: 100\r\n\r\n{\"UserPoolId\"")
		closed := make(chan string, 1)
		go func() {
			conn.SetReadDeadline(time.Now().Add(time.Minute))
			got, _ := io.ReadAll(conn) // until the server closes, or the deadline
			closed <- string(got)
		}()
		return closed
	}
	get := &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}

	t.Run("other clients go on", func(t *testing.T) {
		t.Parallel()
		// A read timeout of a minute: a call that waited for the stalled one would fail on
		// its own deadline, 30 s, long before.
		srv, client := serve(t, emulator.NewServerLimited(emulator.Options{}, time.Minute, 2))
		closed := stall(t, srv.URL)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		_, err := client.AdminGetUser(ctx, get)
		check(t, err, want{})
		select {
		case got := <-closed:
			t.Errorf("the stalled connection was closed (%q) before its read timeout", got)
		default:
		}
		if got := srv.Outcomes("AdminGetUser"); got[""] != 1 || got[emulator.OutcomeCanceled] != 0 {
			t.Errorf("got outcomes %v, want one success while the stalled call waits", got)
		}
	})

	t.Run("the stalled client is cut off", func(t *testing.T) {
		t.Parallel()
		srv, _ := serve(t, emulator.NewServerLimited(emulator.Options{}, timeout, 2))
		begin := time.Now()
		closed := stall(t, srv.URL)
		select {
		case got := <-closed:
			if elapsed := time.Since(begin); elapsed < timeout || got != "" {
				t.Errorf("the stalled connection was closed after %v with %q, want after %v with no answer", elapsed, got, timeout)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the stalled connection is still open after 30s")
		}
		if got := srv.Outcomes("AdminGetUser"); got[emulator.OutcomeCanceled] != 1 {
			t.Errorf("got outcomes %v, want one canceled", got)
		}
	})

	t.Run("every connection taken", func(t *testing.T) {
		t.Parallel()
		srv, client := serve(t, emulator.NewServerLimited(emulator.Options{}, timeout, 1))
		begin := time.Now()
		closed := stall(t, srv.URL)
		// The call waits for the only connection, which the timeout frees.
		_, err := client.AdminGetUser(t.Context(), get)
		check(t, err, want{})
		if elapsed := time.Since(begin); elapsed < timeout {
			t.Errorf("a call took %v while the only connection was stalled, want at least the timeout %v", elapsed, timeout)
		}
		<-closed
	})
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, emulator.Options{AuthErrors: map[string]string{
		"AKIAUNKNOWN": "UnrecognizedClientException",
		"AKIAEXPIRED": "ExpiredTokenException",
		"AKIADENIED":  "AccessDeniedException",
		"AKIANOTAUTH": "NotAuthorizedException",
	}})
	for _, tc := range []struct {
		key  string
		want want
	}{
		{emulator.TestAccessKeyID, want{}},
		{"AKIAUNKNOWN", want{"UnrecognizedClientException", "The security token included in the request is invalid.", 400}},
		{"AKIAEXPIRED", want{"ExpiredTokenException", "The security token included in the request is expired", 400}},
		{"AKIADENIED", want{"AccessDeniedException", "User: arn:aws:iam::000000000000:user/AKIADENIED is not authorized to perform: " +
			"cognito-idp:AdminLinkProviderForUser on resource: arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Example1 " +
			"because no identity-based policy allows the cognito-idp:AdminLinkProviderForUser action", 400}},
		{"AKIANOTAUTH", want{"NotAuthorizedException", "", 403}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			client := srv.Client(noRetries, func(o *cip.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider(tc.key, "secret", "")
			})
			_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "alice", "Google", "Cognito_Subject", "g-"+tc.key))
			check(t, err, tc.want)
		})
	}
	if ids, _ := srv.Identities(poolID, "alice"); len(ids) != 1 {
		t.Errorf("got identities %+v, want only the authorized link", ids)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	srv, client := start(t, emulator.Options{Logger: zap.New(core)})
	_, err := client.AdminLinkProviderForUser(t.Context(), linkInput("Cognito", "nobody", "Google", "Cognito_Subject", "g"))
	check(t, err, want{"UserNotFoundException", "", 404})
	_, err = client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
	check(t, err, want{})
	srv.Close() // let every handler finish

	entries := logs.All()
	if len(entries) != 2 {
		t.Fatalf("got %d log entries, want 2", len(entries))
	}
	for i, want := range []map[string]any{
		{"op": "AdminLinkProviderForUser", "user_pool_id": poolID, "outcome": "UserNotFoundException"},
		{"op": "AdminGetUser", "user_pool_id": poolID, "outcome": "ok"},
	} {
		e := entries[i]
		fields := e.ContextMap()
		if e.Level != zapcore.DebugLevel {
			t.Errorf("entry %d: got level %s, want debug", i, e.Level)
		}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("entry %d: got %s=%v, want %v", i, k, fields[k], v)
			}
		}
		if _, ok := fields["duration"]; !ok {
			t.Errorf("entry %d has no duration: %v", i, fields)
		}
		for k, v := range fields {
			if s, ok := v.(string); ok && strings.Contains(s, emulator.TestAccessKeyID) {
				t.Errorf("entry %d logs credentials in %s", i, k)
			}
		}
	}
}
