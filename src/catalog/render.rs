//! Writing a catalog back as FBC: one `<package>/catalog.json` per package, a JSON stream in opm's layout
//! (`opm render`'s `WriteJSON`: four-space indentation, no HTML escaping, one object per blob followed by a newline;
//! package, channels by name, bundles by name, deprecations, other blobs by schema then name). Blobs are written
//! from the objects they were read from, so identical input gives byte-identical output.

#[cfg(test)]
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::ser::PrettyFormatter;
use serde_json::Value;

use super::model::{DeclarativeConfig, Object};
#[cfg(test)]
use super::CatalogError;

/// The file name of each package's catalog; catalog-wide blobs go to `catalog.json` at the root, as opm does.
pub(crate) const CATALOG_FILE: &str = "catalog.json";

impl DeclarativeConfig {
    #[cfg(test)]
    /// Writes the catalog under `dir` (created if missing; it must be empty): `<dir>/<package>/catalog.json`, and
    /// `<dir>/catalog.json` for blobs that belong to no package.
    pub(crate) fn render_dir(&self, dir: &Path) -> Result<(), CatalogError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CatalogError::Render { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        if fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
            return Err(CatalogError::Render {
                path: dir.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the directory is not empty: a rendered catalog must not mix with older files",
                ),
            });
        }
        for (relative, bytes) in self.render_files() {
            let path = dir.join(&relative);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io(parent))?;
            }
            fs::write(&path, bytes).map_err(io(&path))?;
        }
        Ok(())
    }

    /// The rendered files (relative path, content), sorted by path: what [`render_dir`](Self::render_dir) writes,
    /// for building an image layer without a detour through the disk.
    pub(crate) fn render_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut names: Vec<&str> = self
            .packages
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.channels.iter().map(|c| c.package.as_str()))
            .chain(self.bundles.iter().map(|b| b.package.as_str()))
            .chain(self.deprecations.iter().map(|d| d.package.as_str()))
            .chain(self.others.iter().filter_map(|o| o.package.as_deref()))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut files: Vec<(PathBuf, Vec<u8>)> = names
            .into_iter()
            .map(|name| {
                let mut bytes = Vec::new();
                self.render_package(name, &mut bytes)
                    .expect("writing to memory cannot fail");
                (Path::new(name).join(CATALOG_FILE), bytes)
            })
            .collect();
        if self.others.iter().any(|o| o.package.is_none()) {
            let mut bytes = Vec::new();
            self.render_globals(&mut bytes).expect("writing to memory cannot fail");
            files.push((PathBuf::from(CATALOG_FILE), bytes));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files
    }

    /// Writes the blobs of one package as a JSON stream.
    pub(crate) fn render_package(&self, package: &str, out: &mut impl Write) -> io::Result<()> {
        let mut packages: Vec<_> = self.packages.iter().filter(|p| p.name == package).collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        for p in packages {
            write_blob(out, &p.raw)?;
        }
        let mut channels: Vec<_> = self.channels.iter().filter(|c| c.package == package).collect();
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        for c in channels {
            let entries: Vec<&Value> = c.entries.iter().map(|e| &e.raw).collect();
            write_blob(out, &WithList::new(&c.raw, "entries", entries))?;
        }
        let mut bundles: Vec<_> = self.bundles.iter().filter(|b| b.package == package).collect();
        bundles.sort_by(|a, b| a.name.cmp(&b.name));
        for b in bundles {
            write_blob(out, &*b.raw)?;
        }
        for d in self.deprecations.iter().filter(|d| d.package == package) {
            let entries: Vec<&Value> = d.entries.iter().map(|e| &e.raw).collect();
            write_blob(out, &WithList::new(&d.raw, "entries", entries))?;
        }
        let mut others: Vec<_> = self
            .others
            .iter()
            .filter(|o| o.package.as_deref() == Some(package))
            .collect();
        others.sort_by(|a, b| a.schema.cmp(&b.schema).then_with(|| a.name.cmp(&b.name)));
        for o in others {
            write_blob(out, &*o.raw)?;
        }
        Ok(())
    }

    /// Writes the blobs that belong to no package.
    pub(crate) fn render_globals(&self, out: &mut impl Write) -> io::Result<()> {
        let mut others: Vec<_> = self.others.iter().filter(|o| o.package.is_none()).collect();
        others.sort_by(|a, b| a.schema.cmp(&b.schema).then_with(|| a.name.cmp(&b.name)));
        for o in others {
            write_blob(out, &*o.raw)?;
        }
        Ok(())
    }
}

fn write_blob(out: &mut impl Write, blob: &impl Serialize) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, PrettyFormatter::with_indent(b"    "));
    blob.serialize(&mut serializer).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// An object whose list under `key` is given separately (the kept entries of a channel or deprecation), keeping
/// the key's position; an object that had no such key (a channel written without `entries`) gets none.
struct WithList<'a> {
    raw: &'a Object,
    key: &'static str,
    items: Vec<&'a Value>,
}

impl<'a> WithList<'a> {
    fn new(raw: &'a Object, key: &'static str, items: Vec<&'a Value>) -> Self {
        WithList { raw, key, items }
    }
}

impl Serialize for WithList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.raw.len()))?;
        for (k, v) in self.raw {
            if k == self.key {
                map.serialize_entry(k, &self.items)?;
            } else {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}
