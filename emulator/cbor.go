package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The Smithy RPC v2 CBOR protocol carries the same members as AWS JSON, in CBOR. The
// emulator reads a CBOR request by turning it into the JSON its operations decode, and
// writes an output, the same Go value the JSON protocols encode, straight to CBOR.

// cborToJSON turns a CBOR request body into JSON: maps, lists, strings, numbers and
// booleans as they are, timestamps (tag 1) as the epoch seconds the JSON protocols carry,
// blobs as base64.
func cborToJSON(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte("{}"), nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, err
	}
	plain, err := fromCBOR(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(plain)
}

func fromCBOR(v cbor.Value) (any, error) {
	switch v := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(v))
		for k, item := range v {
			x, err := fromCBOR(item)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case cbor.List:
		l := make([]any, len(v))
		for i, item := range v {
			x, err := fromCBOR(item)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	case cbor.String:
		return string(v), nil
	case cbor.Slice:
		return []byte(v), nil
	case cbor.Uint:
		return uint64(v), nil
	case cbor.NegInt: // NegInt(n) is -n; NegInt(0) is -2^64
		if v == 0 || v > 1<<63 {
			return nil, errors.New("cbor: integer below -2^63")
		}
		return -int64(v-1) - 1, nil
	case cbor.Float32:
		return float64(v), nil
	case cbor.Float64:
		return float64(v), nil
	case cbor.Bool:
		return bool(v), nil
	case *cbor.Nil, *cbor.Undefined:
		return nil, nil
	case *cbor.Tag:
		return fromCBOR(v.Value) // tag 1, a timestamp: its epoch seconds
	}
	return nil, fmt.Errorf("cbor: unexpected %T", v)
}

var (
	epochTimeType = reflect.TypeFor[epochTime]()
	timeType      = reflect.TypeFor[time.Time]()
)

// toCBOR encodes an output as the JSON protocols would, with encoding/json's field names
// and omitempty, and timestamps as tag 1 epoch seconds.
func toCBOR(v any) cbor.Value {
	return cborOf(reflect.ValueOf(v))
}

func cborOf(v reflect.Value) cbor.Value {
	if !v.IsValid() {
		return &cbor.Nil{}
	}
	switch v.Type() {
	case epochTimeType, timeType:
		t := v.Convert(timeType).Interface().(time.Time)
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return &cbor.Nil{}
		}
		return cborOf(v.Elem())
	case reflect.Struct:
		m := cbor.Map{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if strings.Contains(opts, "omitempty") && isEmpty(v.Field(i)) {
				continue
			}
			m[name] = cborOf(v.Field(i))
		}
		return m
	case reflect.Map:
		m := cbor.Map{}
		for it := v.MapRange(); it.Next(); {
			m[it.Key().String()] = cborOf(it.Value())
		}
		return m
	case reflect.Slice, reflect.Array:
		l := make(cbor.List, v.Len())
		for i := range v.Len() {
			l[i] = cborOf(v.Index(i))
		}
		return l
	case reflect.String:
		return cbor.String(v.String())
	case reflect.Bool:
		return cbor.Bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := v.Int(); n < 0 {
			return cbor.NegInt(uint64(-(n + 1)) + 1) // NegInt(n) is -n
		}
		return cbor.Uint(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cbor.Uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		return cbor.Float64(v.Float())
	}
	panic(fmt.Sprintf("emulator: cannot encode %s in CBOR", v.Type()))
}

// isEmpty reports whether omitempty leaves v out, as encoding/json decides.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		return v.Len() == 0
	}
	return v.IsZero()
}
