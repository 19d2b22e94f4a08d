//! Loading and validating the hand-maintained OpenAPI spec.
//!
//! Validation runs on the raw JSON tree rather than on `openapiv3` types so
//! that every error can name the JSON pointer of the node at fault.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::Error;

/// A spec that parsed and passed every check.
#[derive(Debug, Clone)]
pub struct Spec {
    /// How the spec is named in errors and in the generated header.
    pub label: String,
    /// The raw document, for pointer lookups.
    pub raw: Value,
    /// The typed document progenitor consumes.
    pub doc: openapiv3::OpenAPI,
}

/// Reads, parses and validates the spec at `path`.
pub fn load(path: &Path, label: &str) -> Result<Spec, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::spec(label, "", format!("cannot read the spec: {e}")))?;
    parse(label, &text)
}

/// Parses and validates spec text; `label` names it in errors.
pub fn parse(label: &str, text: &str) -> Result<Spec, Error> {
    let raw: Value = yaml_serde::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
            .unwrap_or_default();
        Error::spec(label, "", format!("not valid YAML{at}: {e}"))
    })?;
    validate(label, &raw)?;
    let doc: openapiv3::OpenAPI = serde_path_to_error::deserialize(&raw).map_err(|e| {
        let pointer = path_to_pointer(e.path());
        Error::spec(
            label,
            &pointer,
            format!("not a valid OpenAPI 3.0 document: {}", e.inner()),
        )
    })?;
    Ok(Spec {
        label: label.to_string(),
        raw,
        doc,
    })
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&escape(key)),
            Segment::Enum { variant } => out.push_str(&escape(variant)),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// Escapes one JSON-pointer reference token (RFC 6901).
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every check the generator relies on. The first failure is returned.
fn validate(label: &str, raw: &Value) -> Result<(), Error> {
    let fail = |pointer: &str, reason: String| Err(Error::spec(label, pointer, reason));

    match raw.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0.") => {}
        Some(Value::String(v)) => {
            return fail(
                "/openapi",
                format!("OpenAPI version `{v}` is not supported: progenitor reads 3.0.x only"),
            );
        }
        _ => return fail("/openapi", "the `openapi` version field is missing".into()),
    }

    check_refs(label, raw, raw, "")?;

    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut schemas: Vec<(String, &Value, SchemaRole)> = Vec::new();
    if let Some(paths) = raw.get("paths").and_then(Value::as_object) {
        // Sorted explicitly: `Value`'s key order depends on serde_json's
        // `preserve_order` feature, which any crate in the build can switch on.
        let mut paths: Vec<_> = paths.iter().collect();
        paths.sort_by(|a, b| a.0.cmp(b.0));
        for (path, item) in paths {
            let item_ptr = format!("/paths/{}", escape(path));
            check_parameter_refs(label, item, &item_ptr)?;
            collect_parameters(item, &item_ptr, &mut schemas);
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let op_ptr = format!("{item_ptr}/{method}");
                match op.get("operationId").and_then(Value::as_str) {
                    None => return fail(&op_ptr, "operation has no operationId".into()),
                    Some(id) => {
                        let here = format!("{op_ptr}/operationId");
                        if let Some(first) = seen.insert(id.to_string(), here.clone()) {
                            return fail(
                                &here,
                                format!("duplicate operationId `{id}`, first used at {first}"),
                            );
                        }
                    }
                }
                check_parameter_refs(label, op, &op_ptr)?;
                collect_parameters(op, &op_ptr, &mut schemas);
                if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                    for (code, resp) in responses {
                        let resp_ptr = format!("{op_ptr}/responses/{}", escape(code));
                        if code == "default" {
                            return fail(
                                &resp_ptr,
                                "`default` responses are not supported (progenitor 0.15 \
                                 panics on them beside a typed 200); use 4XX and 5XX"
                                    .into(),
                            );
                        }
                        check_ref_kind(label, resp, &resp_ptr, "responses")?;
                        collect_content(resp, &resp_ptr, &mut schemas);
                    }
                }
                if let Some(body) = op.get("requestBody") {
                    let body_ptr = format!("{op_ptr}/requestBody");
                    check_ref_kind(label, body, &body_ptr, "requestBodies")?;
                    collect_content(body, &body_ptr, &mut schemas);
                }
            }
        }
    }
    if let Some(components) = raw
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in components {
            check_type_name(label, name)?;
            schemas.push((
                format!("/components/schemas/{}", escape(name)),
                schema,
                SchemaRole::Named,
            ));
        }
    }
    for (pointer, schema, role) in schemas {
        check_schema(label, schema, &pointer, role)?;
    }
    Ok(())
}

/// Whether a schema must describe itself, or its owner already does.
#[derive(Clone, Copy, PartialEq)]
enum SchemaRole {
    /// A component or nested schema: it needs its own description.
    Named,
    /// An object's property: it needs a description even when it is a
    /// `$ref` (written beside it), because the field it becomes is the
    /// property, not the referenced type.
    Property,
    /// The schema of a parameter or a media type, described by its owner.
    Described,
}

/// A component schema's name becomes a Rust type name as it is, so it must
/// already be one: typify would otherwise rename it behind codegen's back
/// (and lose the forward-compatible enum registered under the old name).
fn check_type_name(label: &str, name: &str) -> Result<(), Error> {
    use heck::ToUpperCamelCase;
    let is_ident = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && name.to_upper_camel_case() == name;
    if is_ident {
        Ok(())
    } else {
        Err(Error::spec(
            label,
            &format!("/components/schemas/{}", escape(name)),
            format!(
                "schema name `{name}` is not an UpperCamelCase Rust type name \
                 (ASCII letters and digits, like `SessionStatus`)"
            ),
        ))
    }
}

/// Where a `$ref` of each kind of object may point: typify and progenitor
/// look the name up in that section and panic when it is not there.
fn check_ref_kind(label: &str, node: &Value, ptr: &str, section: &str) -> Result<(), Error> {
    let Some(target) = node.get("$ref").and_then(Value::as_str) else {
        return Ok(());
    };
    let prefix = format!("#/components/{section}/");
    let ok = target
        .strip_prefix(&prefix)
        .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    if ok {
        Ok(())
    } else {
        Err(Error::spec(
            label,
            &format!("{ptr}/$ref"),
            format!("`{target}` must point at an entry of {prefix}<name> here"),
        ))
    }
}

fn check_parameter_refs(label: &str, owner: &Value, ptr: &str) -> Result<(), Error> {
    let params = owner.get("parameters").and_then(Value::as_array);
    for (i, p) in params.into_iter().flatten().enumerate() {
        check_ref_kind(label, p, &format!("{ptr}/parameters/{i}"), "parameters")?;
    }
    Ok(())
}

fn collect_parameters<'a>(
    owner: &'a Value,
    ptr: &str,
    out: &mut Vec<(String, &'a Value, SchemaRole)>,
) {
    if let Some(params) = owner.get("parameters").and_then(Value::as_array) {
        for (i, p) in params.iter().enumerate() {
            if let Some(s) = p.get("schema") {
                out.push((
                    format!("{ptr}/parameters/{i}/schema"),
                    s,
                    SchemaRole::Described,
                ));
            }
        }
    }
}

fn collect_content<'a>(
    owner: &'a Value,
    ptr: &str,
    out: &mut Vec<(String, &'a Value, SchemaRole)>,
) {
    if let Some(content) = owner.get("content").and_then(Value::as_object) {
        for (media, m) in content {
            if let Some(s) = m.get("schema") {
                out.push((
                    format!("{ptr}/content/{}/schema", escape(media)),
                    s,
                    SchemaRole::Described,
                ));
            }
        }
    }
}

fn check_schema(label: &str, schema: &Value, ptr: &str, role: SchemaRole) -> Result<(), Error> {
    let fail = |pointer: &str, reason: &str| Err(Error::spec(label, pointer, reason.to_string()));
    let Some(obj) = schema.as_object() else {
        // `additionalProperties: true` and the like carry no type to check.
        return Ok(());
    };
    if obj.contains_key("$ref") {
        check_ref_kind(label, schema, ptr, "schemas")?;
        // openapiv3 drops a `$ref`'s siblings, but the spec is read by
        // people too: a property says what it is, not only its type.
        if role == SchemaRole::Property && !has_description(obj) {
            return fail(
                ptr,
                "property has no description (write it beside the `$ref`)",
            );
        }
        return Ok(());
    }
    if matches!(role, SchemaRole::Named | SchemaRole::Property) && !has_description(obj) {
        return fail(ptr, "schema has no description");
    }
    if let Some(values) = obj.get("enum") {
        let is_string_type = obj.get("type").and_then(Value::as_str) == Some("string");
        let all_strings = values
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string));
        if !is_string_type || !all_strings {
            return fail(
                &format!("{ptr}/enum"),
                "enum must be a non-empty string enum (`type: string`, string values)",
            );
        }
        let is_component = ptr
            .strip_prefix("/components/schemas/")
            .is_some_and(|name| !name.contains('/'));
        if !is_component {
            return fail(
                &format!("{ptr}/enum"),
                "enums must be named schemas under /components/schemas, so that codegen can \
                 make them forward-compatible; move it there and `$ref` it",
            );
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            check_schema(
                label,
                p,
                &format!("{ptr}/properties/{}", escape(name)),
                SchemaRole::Property,
            )?;
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(s) = obj.get(key) {
            check_schema(label, s, &format!("{ptr}/{key}"), SchemaRole::Named)?;
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            for (i, s) in list.iter().enumerate() {
                check_schema(label, s, &format!("{ptr}/{key}/{i}"), SchemaRole::Described)?;
            }
        }
    }
    Ok(())
}

fn has_description(obj: &serde_json::Map<String, Value>) -> bool {
    obj.get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| !d.trim().is_empty())
}

/// Every `$ref` in the document must be local and point at a node.
fn check_refs(label: &str, root: &Value, node: &Value, ptr: &str) -> Result<(), Error> {
    match node {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref") {
                let here = format!("{ptr}/$ref");
                let Some(target) = r.as_str() else {
                    return Err(Error::spec(label, &here, "`$ref` must be a string".into()));
                };
                let Some(local) = target.strip_prefix('#') else {
                    return Err(Error::spec(
                        label,
                        &here,
                        format!("`{target}` is not a local reference; only `#/...` is supported"),
                    ));
                };
                if root.pointer(local).is_none() {
                    return Err(Error::spec(
                        label,
                        &here,
                        format!("`{target}` does not resolve to any node"),
                    ));
                }
            }
            for (k, v) in map {
                check_refs(label, root, v, &format!("{ptr}/{}", escape(k)))?;
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_refs(label, root, v, &format!("{ptr}/{i}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The string enums of `components/schemas`, in document order.
pub(crate) fn string_enums(spec: &Spec) -> Vec<(String, String, Vec<String>)> {
    let Some(schemas) = spec
        .raw
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    // Document order comes from the typed spec (an IndexMap); `Value`'s key
    // order depends on serde_json features chosen elsewhere in the build.
    let order = spec.doc.components.iter().flat_map(|c| c.schemas.keys());
    order
        .filter_map(|name| schemas.get_key_value(name))
        .filter_map(|(name, s)| {
            let values = s.get("enum")?.as_array()?;
            let description = s
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Some((
                name.clone(),
                description.to_string(),
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ))
        })
        .collect()
}
