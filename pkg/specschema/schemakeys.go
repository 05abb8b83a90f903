package specschema

import (
	"reflect"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Types of apiextensions v1 that need special handling when walking a raw
// schema. The v1 Go types are the source of truth for which keys exist, so
// the walk follows the dialect of the apiextensions version in go.mod
// without a hand-written key list.
var (
	typeSchema            = reflect.TypeFor[apiextensionsv1.JSONSchemaProps]()
	typeJSON              = reflect.TypeFor[apiextensionsv1.JSON]()
	typeSchemaOrBool      = reflect.TypeFor[apiextensionsv1.JSONSchemaPropsOrBool]()
	typeSchemaOrArray     = reflect.TypeFor[apiextensionsv1.JSONSchemaPropsOrArray]()
	typeSchemaOrStringArr = reflect.TypeFor[apiextensionsv1.JSONSchemaPropsOrStringArray]()
)

// Keys of a schema node that are understood but refused, with the reason
// given to the author.
const (
	keyValidations = "x-kubernetes-validations"
	keyDefault     = "default"

	detailValidations = "x-kubernetes-validations (CEL rules) are not supported in specSchema and would not be enforced; " +
		"express the constraint with type, enum, pattern, format, minimum/maximum, min/maxLength, min/maxItems or required"
	detailDefault = "default is not supported in specSchema: specs are validated, never rewritten, so a default would never be applied; " +
		"make the field required or let the workflow supply the default"
)

// checkSchemaKeys walks the generically decoded schema and reports, with
// their exact field path, keys that are not part of the CRD schema dialect
// (strict, case-sensitive decoding), keys whose JSON type cannot decode into
// the dialect's Go type, and the refused keys x-kubernetes-validations and
// default.
//
// This is done on the generic tree rather than by strict typed decoding
// because the v1 types' custom UnmarshalJSON methods (items,
// additionalProperties, ...) decode their content non-strictly, so a typo
// nested under them would otherwise be silently dropped.
func checkSchemaKeys(raw any, root *field.Path) field.ErrorList {
	w := keyWalker{fields: map[reflect.Type]map[string]reflect.Type{}}
	w.walk(raw, typeSchema, root)
	return w.errs
}

type keyWalker struct {
	// fields caches, per struct type, its JSON keys and their Go types.
	fields map[reflect.Type]map[string]reflect.Type
	errs   field.ErrorList
}

func (w *keyWalker) walk(raw any, t reflect.Type, p *field.Path) {
	if raw == nil {
		// JSON null decodes to the zero value of any field; nothing to check.
		return
	}
	switch t {
	case typeJSON:
		// default, example, enum values: arbitrary JSON.
		return
	case typeSchemaOrBool:
		// additionalProperties / additionalItems: a schema or a boolean.
		switch raw.(type) {
		case bool:
		case map[string]any:
			w.walk(raw, typeSchema, p)
		default:
			w.wrongType(p, "must be a boolean or a schema object")
		}
		return
	case typeSchemaOrArray:
		// items: a schema or (refused later by CRD validation) a list.
		switch r := raw.(type) {
		case map[string]any:
			w.walk(r, typeSchema, p)
		case []any:
			for i, v := range r {
				w.walk(v, typeSchema, p.Index(i))
			}
		default:
			w.wrongType(p, "must be a schema object or a list of schema objects")
		}
		return
	case typeSchemaOrStringArr:
		// dependencies values (refused later by CRD validation).
		switch r := raw.(type) {
		case map[string]any:
			w.walk(r, typeSchema, p)
		case []any:
			for i, v := range r {
				w.walk(v, reflect.TypeFor[string](), p.Index(i))
			}
		default:
			w.wrongType(p, "must be a schema object or a list of strings")
		}
		return
	}

	switch t.Kind() {
	case reflect.Pointer:
		w.walk(raw, t.Elem(), p)
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			w.wrongType(p, "must be an object")
			return
		}
		known := w.structFields(t)
		for k, v := range obj {
			if t == typeSchema {
				switch k {
				case keyValidations:
					if list, ok := v.([]any); ok && len(list) == 0 {
						continue // an empty rule list enforces nothing and loses nothing
					}
					w.errs = append(w.errs, field.Forbidden(p.Child(k), detailValidations))
					continue
				case keyDefault:
					w.errs = append(w.errs, field.Forbidden(p.Child(k), detailDefault))
					continue
				}
			}
			ft, ok := known[k]
			if !ok {
				w.errs = append(w.errs, field.Forbidden(p.Child(k), "unknown field (keys are case-sensitive)"))
				continue
			}
			w.walk(v, ft, p.Child(k))
		}
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			w.wrongType(p, "must be an object")
			return
		}
		for k, v := range obj {
			w.walk(v, t.Elem(), p.Key(k))
		}
	case reflect.Slice:
		list, ok := raw.([]any)
		if !ok {
			w.wrongType(p, "must be a list")
			return
		}
		for i, v := range list {
			w.walk(v, t.Elem(), p.Index(i))
		}
	case reflect.String:
		if _, ok := raw.(string); !ok {
			w.wrongType(p, "must be a string")
		}
	case reflect.Bool:
		if _, ok := raw.(bool); !ok {
			w.wrongType(p, "must be a boolean")
		}
	case reflect.Int64, reflect.Int32, reflect.Int:
		// Decoded with PreserveInts: integral JSON numbers are int64.
		if _, ok := raw.(int64); !ok {
			w.wrongType(p, "must be an integer")
		}
	case reflect.Float64, reflect.Float32:
		switch raw.(type) {
		case int64, float64:
		default:
			w.wrongType(p, "must be a number")
		}
	}
}

func (w *keyWalker) wrongType(p *field.Path, detail string) {
	w.errs = append(w.errs, field.TypeInvalid(p, omitValue, detail))
}

// structFields returns the JSON keys of struct type t and their Go types.
func (w *keyWalker) structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := w.fields[t]; ok {
		return m
	}
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		m[name] = f.Type
	}
	w.fields[t] = m
	return m
}
