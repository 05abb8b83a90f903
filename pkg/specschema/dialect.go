package specschema

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The rules of the CRD schema dialect: what the API server refuses in the
// openAPIV3Schema of a CustomResourceDefinition it is asked to create,
// applied to a spec schema as if it were the schema of a CRD's spec field.
//
// The API server's own implementation of these rules
// (k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation) also
// compiles CEL rules, and linking it links CEL and much of k8s.io/apiserver
// into the controller (with the /metrics authorizer's import, which does
// the same: about 16 MB of resident memory once started and a tenth of the
// binary), for rules Compile refuses anyway (x-kubernetes-validations and
// default are refused by checkSchemaKeys before these rules run). The
// structural-schema rules come from the CEL-free schema package as before;
// the rules below are the rest. A differential test runs both on the same
// schemas and requires the same verdict and the same messages.

// openAPIV3Types are the types the dialect accepts, in the order the API
// server lists them in its message.
var openAPIV3Types = []string{"array", "boolean", "integer", "number", "object", "string"}

// resourceMetaFields are the properties of an embedded resource that hold
// its type and object metadata.
var resourceMetaFields = []string{"apiVersion", "kind", "metadata"}

// dialectErrors returns what the API server would refuse in wrapper (the
// author's schema as the spec property of an object) as a CRD schema, with
// field paths rooted at SchemaFieldRoot, and when it refuses nothing, the
// structural schema that validation runs on.
//
// Like the API server, it reports structural problems found while building
// the structural schema only when no other rule fails, because they overlap
// with the dialect rules and would otherwise be reported twice.
func dialectErrors(wrapper *apiextensions.JSONSchemaProps) (*structuralschema.Structural, field.ErrorList) {
	wrapperRoot := field.NewPath("openAPIV3Schema")
	ss, err := structuralschema.NewStructural(wrapper)
	var errs, structuralInitErrs field.ErrorList
	if err != nil {
		structuralInitErrs = field.ErrorList{field.Invalid(wrapperRoot, "", err.Error())}
	} else {
		errs = structuralschema.ValidateStructural(wrapperRoot, ss)
	}
	errs = rerootErrors(errs, wrapperRoot)
	structuralInitErrs = rerootErrors(structuralInitErrs, wrapperRoot)

	// The wrapper itself is the CRD's root: an object with the spec
	// property and nothing else, so the root rules have nothing to find,
	// and the author's schema is checked as a property below the root.
	spec := wrapper.Properties[SpecFieldRoot]
	errs = append(errs, dialectRules{}.check(&spec, field.NewPath(SchemaFieldRoot))...)
	if len(errs) == 0 {
		errs = structuralInitErrs
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return ss, nil
}

// rerootErrors rewrites the field paths of errors found on the wrapper
// (rooted at wrapperRoot) to paths in the author's schema (rooted at
// SchemaFieldRoot). An error outside the spec property would be about the
// wrapper, i.e. a bug in this package: it says so.
func rerootErrors(errs field.ErrorList, wrapperRoot *field.Path) field.ErrorList {
	specRoot := wrapperRoot.Child("properties").Key(SpecFieldRoot).String()
	rewrite := func(s string) string {
		s = strings.ReplaceAll(s, specRoot, SchemaFieldRoot)
		return strings.ReplaceAll(s, wrapperRoot.String(), SchemaFieldRoot)
	}
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		c := *e
		c.Field = rewrite(c.Field)
		c.Detail = rewrite(c.Detail)
		if !strings.HasPrefix(c.Field, SchemaFieldRoot) {
			c.Detail = fmt.Sprintf("internal error validating the wrapper schema (field %s): %s", c.Field, c.Detail)
			c.Field = SchemaFieldRoot
		}
		out = append(out, &c)
	}
	return out
}

// dialectRules walks a schema and applies the dialect's rules to every
// node. insideResourceMeta is set below the apiVersion, kind and metadata
// properties of an embedded resource.
type dialectRules struct {
	insideResourceMeta bool
}

// check returns the rule violations of s and of every schema nested in it.
func (r dialectRules) check(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	errs := r.unsupportedKeywords(s, p)
	errs = append(errs, r.nested(s, p)...)
	errs = append(errs, extensionErrors(s, p)...)
	errs = append(errs, listTypeErrors(s, p)...)
	errs = append(errs, mapListErrors(s, p)...)
	return errs
}

// unsupportedKeywords reports the JSON Schema keywords the dialect does not
// support, and the types it does not know.
func (r dialectRules) unsupportedKeywords(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Type != "" && !slices.Contains(openAPIV3Types, s.Type) {
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, openAPIV3Types))
	}
	forbidden := func(set bool, key, detail string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(key), detail))
		}
	}
	forbidden(s.ID != "", "id", "id is not supported")
	forbidden(s.AdditionalItems != nil, "additionalItems", "additionalItems is not supported")
	forbidden(len(s.PatternProperties) != 0, "patternProperties", "patternProperties is not supported")
	forbidden(len(s.Definitions) != 0, "definitions", "definitions is not supported")
	forbidden(s.Dependencies != nil, "dependencies", "dependencies is not supported")
	forbidden(s.Ref != nil, "$ref", "$ref is not supported")
	forbidden(s.Type == "null", "type", "type cannot be set to null, use nullable as an alternative")
	forbidden(s.Items != nil && len(s.Items.JSONSchemas) != 0, "items", "items must be a schema object and not an array")
	forbidden(r.insideResourceMeta && s.XEmbeddedResource, "x-kubernetes-embedded-resource", "must not be used inside of resource meta")
	forbidden(s.UniqueItems, "uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic")
	// properties are for structs, additionalProperties for maps: both on
	// one object would contradict the API convention of ignoring unknown
	// fields.
	forbidden(s.AdditionalProperties != nil && len(s.Properties) != 0 &&
		(!s.AdditionalProperties.Allows || s.AdditionalProperties.Schema != nil),
		"additionalProperties", "additionalProperties and properties are mutual exclusive")
	return errs
}

// nested checks every schema nested in s.
func (r dialectRules) nested(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.AdditionalProperties != nil {
		errs = append(errs, r.check(s.AdditionalProperties.Schema, p.Child("additionalProperties"))...)
	}
	for name, prop := range s.Properties {
		sub := r
		if s.XEmbeddedResource && slices.Contains(resourceMetaFields, name) {
			sub.insideResourceMeta = true
		}
		errs = append(errs, sub.check(&prop, p.Child("properties").Key(name))...)
	}
	errs = append(errs, r.check(s.Not, p.Child("not"))...)
	for _, group := range []struct {
		key     string
		schemas []apiextensions.JSONSchemaProps
	}{{"allOf", s.AllOf}, {"oneOf", s.OneOf}, {"anyOf", s.AnyOf}} {
		for i := range group.schemas {
			errs = append(errs, r.check(&group.schemas[i], p.Child(group.key).Index(i))...)
		}
	}
	for name, def := range s.Definitions {
		errs = append(errs, r.check(&def, p.Child("definitions").Key(name))...)
	}
	if s.Items != nil {
		errs = append(errs, r.check(s.Items.Schema, p.Child("items"))...)
		for i := range s.Items.JSONSchemas {
			errs = append(errs, r.check(&s.Items.JSONSchemas[i], p.Child("items").Index(i))...)
		}
	}
	for name, dep := range s.Dependencies {
		errs = append(errs, r.check(dep.Schema, p.Child("dependencies").Key(name))...)
	}
	return errs
}

// extensionErrors checks x-kubernetes-preserve-unknown-fields and
// x-kubernetes-map-type.
func extensionErrors(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.XPreserveUnknownFields != nil && !*s.XPreserveUnknownFields {
		errs = append(errs, field.Invalid(p.Child("x-kubernetes-preserve-unknown-fields"), false, "must be true or undefined"))
	}
	if s.XMapType != nil {
		errs = append(errs, requireType(s, p, "object", "x-kubernetes-map-type")...)
		if *s.XMapType != "atomic" && *s.XMapType != "granular" {
			errs = append(errs, field.NotSupported(p.Child("x-kubernetes-map-type"), *s.XMapType, []string{"atomic", "granular"}))
		}
	}
	return errs
}

// requireType reports that an extension needs the schema to be of type t.
func requireType(s *apiextensions.JSONSchemaProps, p *field.Path, t, extension string) field.ErrorList {
	detail := fmt.Sprintf("must be %s if %s is specified", t, extension)
	switch s.Type {
	case t:
		return nil
	case "":
		return field.ErrorList{field.Required(p.Child("type"), detail)}
	default:
		return field.ErrorList{field.Invalid(p.Child("type"), s.Type, detail)}
	}
}

// listTypeErrors checks x-kubernetes-list-type and its map keys.
func listTypeErrors(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.XListType != nil {
		if s.Type != "array" {
			errs = append(errs, requireType(s, p, "array", "x-kubernetes-list-type")...)
		} else {
			errs = append(errs, setItemErrors(s, p)...)
		}
		if t := *s.XListType; t != "atomic" && t != "set" && t != "map" {
			errs = append(errs, field.NotSupported(p.Child("x-kubernetes-list-type"), t, []string{"atomic", "set", "map"}))
		}
	}
	if len(s.XListMapKeys) > 0 {
		const detail = "must be map if x-kubernetes-list-map-keys is non-empty"
		if s.XListType == nil {
			errs = append(errs, field.Required(p.Child("x-kubernetes-list-type"), detail))
		} else if *s.XListType != "map" {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-list-type"), *s.XListType, detail))
		}
	}
	if s.XListType != nil && *s.XListType == "map" {
		errs = append(errs, listMapErrors(s, p)...)
	}
	return errs
}

// setItemErrors checks that the items of a set list are atomic: the set's
// uniqueness is defined on whole items.
func setItemErrors(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	if *s.XListType != "set" || s.Items == nil || s.Items.Schema == nil {
		return nil
	}
	const detail = "must be atomic as item of a list with x-kubernetes-list-type=set"
	item := s.Items.Schema
	switch item.Type {
	case "array":
		if item.XListType != nil && *item.XListType != "atomic" {
			return field.ErrorList{field.Invalid(p.Child("items", "x-kubernetes-list-type"), item.XListType, detail)}
		}
	case "object":
		if item.XMapType == nil || *item.XMapType != "atomic" {
			// The API server echoes the item's list type here, not its
			// map type; kept so that messages stay the same.
			return field.ErrorList{field.Invalid(p.Child("items", "x-kubernetes-map-type"), item.XListType, detail)}
		}
	}
	return nil
}

// listMapErrors checks a list of x-kubernetes-list-type map: a single
// object item schema whose key properties are distinct scalars.
func listMapErrors(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.XListMapKeys) == 0 {
		errs = append(errs, field.Required(p.Child("x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"))
	}
	switch {
	case s.Items == nil:
		return append(errs, field.Required(p.Child("items"), "must have a schema if x-kubernetes-list-type is map"))
	case s.Items.Schema == nil:
		return append(errs, field.Invalid(p.Child("items"), s.Items, "must only have a single schema if x-kubernetes-list-type is map"))
	case s.Items.Schema.Type != "object":
		return append(errs, field.Invalid(p.Child("items", "type"), s.Items.Schema.Type, "must be object if parent array's x-kubernetes-list-type is map"))
	}
	item := s.Items.Schema
	seen := map[string]bool{}
	for _, k := range s.XListMapKeys {
		if prop, ok := item.Properties[k]; !ok {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-list-map-keys"), s.XListMapKeys, "entries must all be names of item properties"))
		} else if prop.Type == "array" || prop.Type == "object" {
			errs = append(errs, field.Invalid(p.Child("items", "properties").Key(k).Child("type"), item.Type, "must be a scalar type if parent array's x-kubernetes-list-type is map"))
		}
		if seen[k] {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-list-map-keys"), s.XListMapKeys, "must not contain duplicate entries"))
		}
		seen[k] = true
	}
	return errs
}

// mapListErrors checks what identifies the items of set and map lists:
// items are never null, and map keys are never null and always present
// (they would have to be required or defaulted, and defaults are refused).
func mapListErrors(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	if s.Items == nil || s.Items.Schema == nil || s.XListType == nil || (*s.XListType != "set" && *s.XListType != "map") {
		return nil
	}
	var errs field.ErrorList
	item := s.Items.Schema
	if item.Nullable {
		errs = append(errs, field.Forbidden(p.Child("items", "nullable"), "cannot be nullable when x-kubernetes-list-type is "+*s.XListType))
	}
	if *s.XListType != "map" {
		return errs
	}
	for _, k := range s.XListMapKeys {
		prop, ok := item.Properties[k]
		if !ok {
			continue // reported by listMapErrors
		}
		keyPath := p.Child("items", "properties").Key(k)
		if !slices.Contains(item.Required, k) && prop.Default == nil {
			errs = append(errs, field.Required(keyPath.Child("default"), "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"))
		}
		if prop.Nullable {
			errs = append(errs, field.Forbidden(keyPath.Child("nullable"), "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))
		}
	}
	return errs
}
