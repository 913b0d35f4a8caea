package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"go.uber.org/zap"
)

// Beside Cognito, the emulator answers the few calls of two other services that bulklink's
// --rate auto makes, on the same listener (docs/emulator.md): Service Quotas, which gives
// the account's quotas, and CloudWatch, which gives its usage per minute. Each is an
// aws-sdk-go-v2 client's protocol: AWS JSON 1.1 for Service Quotas, Smithy RPC v2 CBOR for
// CloudWatch, and AWS JSON 1.0 for CloudWatch too, which botocore (the AWS CLI) prefers.

// service is an AWS API other than Cognito that the emulator answers.
type service struct {
	name  string // in logs: "<name> call"
	iam   string // the prefix of its IAM actions, in AccessDenied messages
	ops   map[string]operation
	codec codec
}

// codec reads and writes one protocol's bodies.
type codec interface {
	// request returns a request body as the JSON the operations decode.
	request(body []byte) ([]byte, error)
	output(w http.ResponseWriter, v any)
	error(w http.ResponseWriter, err *apiError)
}

const (
	serviceQuotasTarget = "ServiceQuotasV20190624."
	cloudWatchTarget    = "GraniteServiceVersion20100801."
	cloudWatchRPCPath   = "/service/GraniteServiceVersion20100801/operation/"
)

var (
	serviceQuotas = &service{name: "service quotas", iam: "servicequotas", ops: serviceQuotasOps,
		codec: jsonCodec{mediaType: "application/x-amz-json-1.1"}}
	cloudWatchJSON = &service{name: "cloudwatch", iam: "cloudwatch", ops: cloudWatchOps,
		codec: jsonCodec{mediaType: "application/x-amz-json-1.0", namespace: "com.amazonaws.cloudwatch#", queryCompatible: true}}
	cloudWatchCBOR = &service{name: "cloudwatch", iam: "cloudwatch", ops: cloudWatchOps,
		codec: cborCodec{namespace: "com.amazonaws.cloudwatch#"}}
)

// route returns the service other than Cognito a request is for, and the operation it
// names; nil for Cognito's.
func route(r *http.Request) (*service, string) {
	target := r.Header.Get("X-Amz-Target")
	if name, ok := strings.CutPrefix(target, serviceQuotasTarget); ok {
		return serviceQuotas, name
	}
	if name, ok := strings.CutPrefix(target, cloudWatchTarget); ok {
		return cloudWatchJSON, name
	}
	if name, ok := strings.CutPrefix(r.URL.Path, cloudWatchRPCPath); ok && r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" {
		return cloudWatchCBOR, name
	}
	return nil, ""
}

// serveService answers a call of another service than Cognito: with its latency and auth
// errors, without quotas or faults, which are Cognito's.
func (e *Emulator) serveService(w http.ResponseWriter, r *http.Request, svc *service, name string, opt *Options) {
	start := time.Now()
	e.stats.received(name)
	outcome := func() string {
		body, err := readBody(w, r)
		if ae, ok := errors.AsType[*apiError](err); ok {
			svc.codec.error(w, ae)
			return ae.code
		}
		if err != nil || !sleep(r.Context(), opt.Latency) {
			return OutcomeCanceled
		}
		fail := func(err error) string {
			ae, ok := errors.AsType[*apiError](err)
			if !ok {
				ae = &apiError{codeInternalError, err.Error()}
			}
			svc.codec.error(w, ae)
			return ae.code
		}
		op, ok := svc.ops[name]
		if !ok || r.Method != http.MethodPost {
			return fail(&apiError{code: codeUnknownOperation})
		}
		js, err := svc.codec.request(body)
		if err != nil {
			return fail(&apiError{codeSerialization, msgSerialization})
		}
		in, err := op.decode(js)
		if err != nil {
			return fail(err)
		}
		if err := e.authorizeAs(r, svc.iam, name, "*", opt); err != nil {
			return fail(err)
		}
		if err := in.validate(); err != nil {
			return fail(err)
		}
		out, err := op.run(e, in)
		if err != nil {
			return fail(err)
		}
		svc.codec.output(w, out)
		return ""
	}()
	e.stats.finished(name, outcome)
	opt.Logger.Debug(svc.name+" call",
		zap.String("op", name),
		zap.String("outcome", cmp.Or(outcome, "ok")),
		zap.Duration("duration", time.Since(start)))
	if outcome == OutcomeCanceled {
		dropConnection(w) // as for Cognito's calls: no answer to a call never read
	}
}

// jsonCodec is AWS JSON 1.0 or 1.1.
type jsonCodec struct {
	mediaType string
	// namespace prefixes the error codes in __type, as services whose model has one send
	// them; "" sends them bare.
	namespace string
	// queryCompatible services also send their errors' query codes in X-Amzn-Query-Error,
	// which clients prefer.
	queryCompatible bool
}

func (c jsonCodec) request(body []byte) ([]byte, error) { return body, nil }

func (c jsonCodec) output(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	writeAs(w, c.mediaType, http.StatusOK, buf.Bytes())
}

func (c jsonCodec) error(w http.ResponseWriter, err *apiError) {
	typ := c.namespace + err.code
	if coralErrors[err.code] {
		typ = coralNamespace + err.code
	} else {
		w.Header().Set("X-Amzn-ErrorType", err.code)
	}
	if c.queryCompatible {
		w.Header().Set("X-Amzn-Query-Error", queryError(err))
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{typ, err.message})
	writeAs(w, c.mediaType, err.status(), body)
}

// cborCodec is Smithy RPC v2 CBOR, as CloudWatch speaks it: query compatible.
type cborCodec struct{ namespace string }

func (cborCodec) request(body []byte) ([]byte, error) { return cborToJSON(body) }

func (cborCodec) output(w http.ResponseWriter, v any) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	writeAs(w, "application/cbor", http.StatusOK, cbor.Encode(toCBOR(v)))
}

func (c cborCodec) error(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Query-Error", queryError(err))
	m := cbor.Map{"__type": cbor.String(c.namespace + err.code)}
	if coralErrors[err.code] {
		m["__type"] = cbor.String(coralNamespace + err.code)
	}
	if err.message != "" {
		m["message"] = cbor.String(err.message)
	}
	writeAs(w, "application/cbor", err.status(), cbor.Encode(m))
}

// queryError is the X-Amzn-Query-Error header of an error: its query code, and who is at
// fault.
func queryError(err *apiError) string {
	fault := "Sender"
	if err.status() >= 500 {
		fault = "Receiver"
	}
	return cmp.Or(queryCodes[err.code], err.code) + ";" + fault
}

// queryCodes are the codes CloudWatch's query protocol gives its errors, where they differ
// from the error's name (doc: the model's awsQueryError traits).
var queryCodes = map[string]string{
	codeInvalidParameterValue: "InvalidParameterValue",
	codeMissingParameter:      "MissingParameter",
	codeAccessDenied:          "AccessDenied",
}
