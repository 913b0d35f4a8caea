package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
)

// tokens signs the pagination tokens of ListUsers and AdminListGroupsForUser, so that a
// token resumes only the listing it came from: the same pool and the same filter (or
// user), as Cognito's do (docs/emulator.md, ListUsers). A token is the key to resume after,
// with what it is bound to, and an HMAC of both under a key of this emulator's: a token
// edited, made up, or from another emulator is refused.
type tokens struct{ key []byte }

func newTokens() tokens {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	return tokens{key: key}
}

// tokenMAC is how many bytes of the HMAC a token carries: enough that no one guesses one.
const tokenMAC = 16

// issue returns a token that resumes the listing bound to scope after key.
func (t tokens) issue(scope []string, key string) *string {
	payload := []byte(key)
	mac := t.mac(scope, payload)
	tok := base64.RawURLEncoding.EncodeToString(append(mac, payload...))
	return &tok
}

// resume returns the key a token resumes after, and whether the token was issued for
// scope. No token resumes from the start: "", true.
func (t tokens) resume(scope []string, token *string) (key string, ok bool) {
	if token == nil {
		return "", true
	}
	raw, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil || len(raw) <= tokenMAC {
		return "", false
	}
	mac, payload := raw[:tokenMAC], raw[tokenMAC:]
	if !hmac.Equal(mac, t.mac(scope, payload)) {
		return "", false
	}
	return string(payload), true
}

func (t tokens) mac(scope []string, payload []byte) []byte {
	h := hmac.New(sha256.New, t.key)
	// Each part's length first, so that no two scopes write the same bytes.
	for _, s := range scope {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	h.Write([]byte{0xff})
	h.Write(payload)
	return h.Sum(nil)[:tokenMAC]
}

// invalidToken is Cognito's answer to a pagination token that does not go with its
// request.
func invalidToken(token, requestID string) *apiError {
	return invalidParameter(msgPagingMarker(strings.TrimSpace(token), requestID))
}

// after returns the part of a sorted listing that a token resumes: what comes after key,
// all of it for "".
func after(sorted []string, key string) []string {
	if key == "" {
		return sorted
	}
	i, found := slices.BinarySearch(sorted, key)
	if found {
		i++
	}
	return sorted[i:]
}
