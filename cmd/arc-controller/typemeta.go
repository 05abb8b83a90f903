package main

import (
	"bytes"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// Every object ARC receives, in a list, a watch event or the answer to a
// write, is JSON, and apimachinery's JSON decoder finds its apiVersion and
// kind before it decodes it (json.SimpleMetaFactory): with encoding/json,
// which checks and parses the whole object into a struct of two fields.
// That costs a tenth of the controller's CPU while it creates thousands of
// artifacts (a profile of make bench), and it happens twice per watch
// event: for the event and for the object in it. typeMetaFactory reads the
// two fields with a scan that only skips over everything else, and leaves
// the rest to the decoder that follows, which parses the object anyway.

// typeMetaFactory is a json.MetaFactory that gives the same answer as
// json.SimpleMetaFactory for every valid JSON document, without parsing
// it. Where the answer could differ (escaped or case-folded keys, values
// that are not plain strings, anything but an object) it asks
// SimpleMetaFactory. It does not validate what it skips: a malformed
// document is refused by the decoding that follows instead of here.
type typeMetaFactory struct{}

var _ json.MetaFactory = typeMetaFactory{}

// Interpret returns the apiVersion and kind of the JSON object data.
func (typeMetaFactory) Interpret(data []byte) (*schema.GroupVersionKind, error) {
	apiVersion, kind, ok := scanTypeMeta(data)
	if !ok {
		return json.DefaultMetaFactory.Interpret(data)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	return &schema.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: kind}, nil
}

var (
	keyAPIVersion = []byte("apiVersion")
	keyKind       = []byte("kind")
)

// scanTypeMeta returns the values of the top-level apiVersion and kind of
// the JSON object data, the last of each as encoding/json takes it, and
// whether it could tell them apart from the rest with certainty.
func scanTypeMeta(data []byte) (apiVersion, kind string, ok bool) {
	s := scanner{data: data}
	if !s.consume('{') {
		return "", "", false
	}
	if s.consume('}') {
		return "", "", s.atEnd()
	}
	for {
		key, plain := s.str()
		if !plain || !s.consume(':') {
			return "", "", false
		}
		var field *string
		switch {
		case bytes.Equal(key, keyAPIVersion):
			field = &apiVersion
		case bytes.Equal(key, keyKind):
			field = &kind
		case bytes.EqualFold(key, keyAPIVersion), bytes.EqualFold(key, keyKind):
			// encoding/json would take it for one of the two.
			return "", "", false
		}
		if field != nil {
			if !s.typeMetaValue(field) {
				return "", "", false
			}
		} else if !s.skipValue() {
			return "", "", false
		}
		if s.consume('}') {
			return apiVersion, kind, s.atEnd()
		}
		if !s.consume(',') {
			return "", "", false
		}
	}
}

// scanner walks a JSON document; pos is the next byte to read.
type scanner struct {
	data []byte
	pos  int
}

// skipSpace moves past JSON white space.
func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// consume moves past c, and the white space before it, if c is next.
func (s *scanner) consume(c byte) bool {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// atEnd tells whether only white space is left.
func (s *scanner) atEnd() bool {
	s.skipSpace()
	return s.pos == len(s.data)
}

// str reads a string and returns its content. plain is false unless it is
// a string whose content is its value as it stands: no escapes, no control
// characters, valid UTF-8 (encoding/json would replace invalid bytes).
func (s *scanner) str() (content []byte, plain bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.pos
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			content = s.data[start:s.pos]
			s.pos++
			return content, utf8.Valid(content)
		case c == '\\' || c < 0x20:
			return nil, false
		default:
			s.pos++
		}
	}
	return nil, false
}

// typeMetaValue reads the value of apiVersion or kind into field: a plain
// string, or null, which encoding/json skips. Any other value makes
// encoding/json fail, and SimpleMetaFactory says why.
func (s *scanner) typeMetaValue(field *string) bool {
	s.skipSpace()
	if bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
		s.pos += len("null")
		return true
	}
	v, plain := s.str()
	if plain {
		*field = string(v)
	}
	return plain
}

// skipValue moves past one value: a string, an object or an array with
// everything in it, or a number or literal up to the next delimiter.
func (s *scanner) skipValue() bool {
	s.skipSpace()
	if s.pos == len(s.data) {
		return false
	}
	switch s.data[s.pos] {
	case '"':
		return s.skipString()
	case '{', '[':
		return s.skipNested()
	case ',', ':', '}', ']':
		return false
	}
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return true
		}
		s.pos++
	}
	return true
}

// skipString moves past a string, escapes included; s.pos is at its quote.
func (s *scanner) skipString() bool {
	for s.pos++; s.pos < len(s.data); s.pos++ {
		switch s.data[s.pos] {
		case '\\':
			s.pos++
		case '"':
			s.pos++
			return true
		}
	}
	return false
}

// skipNested moves past an object or array; s.pos is at its opening
// bracket. Brackets inside strings do not count.
func (s *scanner) skipNested() bool {
	depth := 0
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '"':
			if !s.skipString() {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.pos++
				return true
			}
		}
		s.pos++
	}
	return false
}

// withTypeMetaFactory returns base with its JSON serializer, and the
// streaming one watches use, replaced by serializers that find an object's
// kind with typeMetaFactory. The other media types are left as they are.
func withTypeMetaFactory(base runtime.NegotiatedSerializer, scheme *runtime.Scheme) runtime.NegotiatedSerializer {
	infos := base.SupportedMediaTypes()
	out := make([]runtime.SerializerInfo, len(infos))
	for i, info := range infos {
		if info.MediaType == runtime.ContentTypeJSON {
			s := json.NewSerializerWithOptions(typeMetaFactory{}, scheme, scheme, json.SerializerOptions{})
			info.Serializer = s
			if info.StreamSerializer != nil {
				stream := *info.StreamSerializer
				stream.Serializer = s
				info.StreamSerializer = &stream
			}
		}
		out[i] = info
	}
	return mediaTypes{NegotiatedSerializer: base, infos: out}
}

// mediaTypes is a NegotiatedSerializer with other serializers for its
// media types.
type mediaTypes struct {
	runtime.NegotiatedSerializer
	infos []runtime.SerializerInfo
}

func (m mediaTypes) SupportedMediaTypes() []runtime.SerializerInfo { return m.infos }
