//! The images a chart deploys: read from its rendered documents at oc-mirror's paths and the configuration's
//! `imagePaths`, or, for a chart that cannot be rendered, from the image-shaped entries of its values.

use serde_json::{Map, Value};

use crate::reference::ImageReference;

/// Where workloads name their images (oc-mirror's paths, and a CronJob's pod template).
pub(crate) const DEFAULT_IMAGE_PATHS: [&str; 6] = [
    "{.spec.template.spec.initContainers[*].image}",
    "{.spec.template.spec.containers[*].image}",
    "{.spec.initContainers[*].image}",
    "{.spec.containers[*].image}",
    "{.spec.jobTemplate.spec.template.spec.initContainers[*].image}",
    "{.spec.jobTemplate.spec.template.spec.containers[*].image}",
];

/// An `imagePaths` entry ferry cannot read.
#[derive(Debug, thiserror::Error)]
#[error("image path `{path}`: {reason}\n  help: write a JSONPath such as {{.spec.template.spec.containers[*].image}}")]
pub(crate) struct PathError {
    pub path: String,
    pub reason: &'static str,
}

/// One step of a path: a field, every element, or one element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Every,
    Index(usize),
}

/// A parsed JSONPath of the subset charts use: `{.a.b[*].c}`, `.a[0].b`, `.a['b.c']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImagePath(Vec<Step>);

impl std::str::FromStr for ImagePath {
    type Err = PathError;

    fn from_str(path: &str) -> Result<ImagePath, PathError> {
        let error = |reason| PathError {
            path: path.into(),
            reason,
        };
        let body = path.trim();
        let body = body
            .strip_prefix('{')
            .map_or(body, |b| b.strip_suffix('}').unwrap_or(b))
            .trim();
        let body = body.strip_prefix('$').unwrap_or(body);
        let mut steps = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(error("an empty field name (recursive descent `..` is not supported)"));
                }
                steps.push(Step::Field(after[..end].to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| error("a `[` without its `]`"))?;
                let inside = after[..end].trim();
                steps.push(match inside {
                    "*" => Step::Every,
                    quoted if quoted.len() >= 2 && (quoted.starts_with('\'') || quoted.starts_with('"')) => {
                        Step::Field(quoted[1..quoted.len() - 1].to_string())
                    }
                    number => Step::Index(
                        number
                            .parse()
                            .map_err(|_| error("an index that is not `*`, a number or a quoted name"))?,
                    ),
                });
                rest = &after[end + 1..];
            } else {
                return Err(error("each step starts with `.` or `[`"));
            }
        }
        if steps.is_empty() {
            return Err(error("the path is empty"));
        }
        Ok(ImagePath(steps))
    }
}

impl ImagePath {
    /// The strings at this path in `document`.
    pub(crate) fn strings<'d>(&self, document: &'d Value) -> Vec<&'d str> {
        let mut current = vec![document];
        for step in &self.0 {
            current = current
                .into_iter()
                .flat_map(|value| -> Vec<&Value> {
                    match (step, value) {
                        (Step::Field(name), Value::Object(map)) => map.get(name).into_iter().collect(),
                        (Step::Every, Value::Array(items)) => items.iter().collect(),
                        (Step::Every, Value::Object(map)) => map.values().collect(),
                        (Step::Index(i), Value::Array(items)) => items.get(*i).into_iter().collect(),
                        _ => Vec::new(),
                    }
                })
                .collect();
        }
        current.into_iter().filter_map(Value::as_str).collect()
    }
}

/// The default paths and the chart's own, parsed.
pub(crate) fn image_paths(extra: &[String]) -> Result<Vec<ImagePath>, PathError> {
    DEFAULT_IMAGE_PATHS
        .iter()
        .map(|p| p.to_string())
        .chain(extra.iter().cloned())
        .map(|p| p.parse())
        .collect()
}

/// The images named at `paths` in rendered documents, in order of first appearance, without repeats.
pub(crate) fn images_in_documents(documents: &[Value], paths: &[ImagePath]) -> Vec<String> {
    let mut images = Vec::new();
    for document in documents {
        for path in paths {
            for image in path.strings(document) {
                push_unique(&mut images, image.trim());
            }
        }
    }
    images
}

/// The image-shaped entries of a chart's values (the fallback when a chart cannot be rendered): an `image`
/// string, or a mapping with `repository` (or a string `image`) and optionally `registry`, `tag` and `digest`,
/// nested under any key. A missing tag is the chart's `appVersion`, as charts conventionally default it.
pub(crate) fn images_in_values(values: &Map<String, Value>, app_version: &str) -> Vec<String> {
    let mut images = Vec::new();
    collect_from_mapping(values, app_version, &mut images);
    images
}

fn collect_from_mapping(map: &Map<String, Value>, app_version: &str, images: &mut Vec<String>) {
    if let Some(image) = split_image(map, app_version) {
        push_unique(images, &image);
    }
    for (key, value) in map {
        match value {
            Value::String(text)
                if key == "image" && !map.contains_key("repository") && !map.contains_key("registry") =>
            {
                if let Some(image) = complete(text, None, None, app_version) {
                    push_unique(images, &image);
                }
            }
            Value::Object(inner) => collect_from_mapping(inner, app_version, images),
            Value::Array(items) => {
                for item in items.iter().filter_map(Value::as_object) {
                    collect_from_mapping(item, app_version, images);
                }
            }
            _ => {}
        }
    }
}

/// `{registry, repository|image, tag, digest}` in one mapping.
fn split_image(map: &Map<String, Value>, app_version: &str) -> Option<String> {
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let name = text("repository").or_else(|| map.contains_key("registry").then(|| text("image")).flatten())?;
    let name = match text("registry") {
        Some(registry) if !name.starts_with(registry) => format!("{}/{name}", registry.trim_end_matches('/')),
        _ => name.to_string(),
    };
    complete(&name, text("tag"), text("digest"), app_version)
}

/// A full reference from its parts, if it is one.
fn complete(name: &str, tag: Option<&str>, digest: Option<&str>, app_version: &str) -> Option<String> {
    let mut reference = name.to_string();
    let has_tag = name.rsplit('/').next().is_some_and(|last| last.contains(':')) || name.contains('@');
    match (digest, tag) {
        (Some(digest), _) if !name.contains('@') => reference.push_str(&format!("@{digest}")),
        (_, Some(tag)) if !has_tag => reference.push_str(&format!(":{tag}")),
        (None, None) if !has_tag && !app_version.is_empty() => reference.push_str(&format!(":{app_version}")),
        _ => {}
    }
    reference.parse::<ImageReference>().ok().map(|_| reference)
}

fn push_unique(images: &mut Vec<String>, image: &str) {
    if !image.is_empty() && !images.iter().any(|known| known == image) {
        images.push(image.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_are_read_at_the_default_paths_and_the_configured_ones() {
        let documents = vec![
            json!({"kind": "Deployment", "spec": {"template": {"spec": {
                "initContainers": [{"image": "r.io/init:1"}],
                "containers": [{"image": "r.io/app:2"}, {"image": "r.io/app:2"}]}}}}),
            json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"image": "r.io/cron:3"}]}}}}}}),
            json!({"kind": "Custom", "spec": {"sidecar": {"image": "r.io/side:4"}}}),
        ];
        let defaults = image_paths(&[]).unwrap();
        assert_eq!(
            images_in_documents(&documents, &defaults),
            ["r.io/init:1", "r.io/app:2", "r.io/cron:3"]
        );
        let with_extra = image_paths(&["{.spec.sidecar.image}".to_string()]).unwrap();
        assert_eq!(images_in_documents(&documents, &with_extra).len(), 4);
    }

    #[test]
    fn bad_paths_are_explained() {
        for (path, reason) in [
            ("{..image}", "recursive"),
            ("{.a[x]}", "index"),
            ("spec", "starts with"),
        ] {
            let error = path.parse::<ImagePath>().unwrap_err().to_string();
            assert!(error.contains(reason), "{path}: {error}");
        }
        assert_eq!(
            ".a['b.c'][0]"
                .parse::<ImagePath>()
                .unwrap()
                .strings(&json!({"a": {"b.c": ["x"]}})),
            ["x"]
        );
    }

    #[test]
    fn values_give_images_in_every_shape() {
        let values = json!({
            "image": {"repository": "r.io/app", "tag": "1.0"},
            "controller": {"image": {"registry": "registry.k8s.io", "image": "ingress-nginx/controller",
                                      "tag": "v1.12.1", "digest": "sha256:d2fbc4ec70d8aa2050dd91a91506e998765e86c96f32cffb56c503c9c34eed5b"}},
            "sidecars": [{"image": "r.io/side:2"}],
            "plain": {"image": "r.io/untagged"},
            "notAnImage": {"image": "Always"}
        });
        let images = images_in_values(values.as_object().unwrap(), "9.9");
        assert_eq!(
            images,
            [
                "r.io/app:1.0",
                "registry.k8s.io/ingress-nginx/controller@sha256:d2fbc4ec70d8aa2050dd91a91506e998765e86c96f32cffb56c503c9c34eed5b",
                "r.io/side:2",
                "r.io/untagged:9.9",
            ]
        );
    }
}
