//! A small `--key value` / `--flag` argument parser that rejects unknown options.

use std::collections::BTreeMap;
use std::str::FromStr;

pub struct Args {
    pub command: String,
    values: BTreeMap<String, Option<String>>,
}

/// Options that take no value.
const FLAGS: &[&str] = &["hold-stdin", "go-stdin"];

impl Args {
    pub fn parse(argv: &[String]) -> Result<Args, String> {
        let command = argv[0].clone();
        let mut values = BTreeMap::new();
        let mut i = 1;
        while i < argv.len() {
            let a = &argv[i];
            let Some(key) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument {a:?}"));
            };
            if let Some((k, v)) = key.split_once('=') {
                values.insert(k.to_string(), Some(v.to_string()));
                i += 1;
            } else if FLAGS.contains(&key) {
                values.insert(key.to_string(), None);
                i += 1;
            } else {
                let v = argv
                    .get(i + 1)
                    .ok_or_else(|| format!("--{key} needs a value"))?;
                values.insert(key.to_string(), Some(v.clone()));
                i += 2;
            }
        }
        Ok(Args { command, values })
    }

    /// Takes an optional value, parsed.
    pub fn opt<T: FromStr>(&mut self, key: &str) -> Result<Option<T>, String> {
        match self.values.remove(key) {
            None => Ok(None),
            Some(None) => Err(format!("--{key} needs a value")),
            Some(Some(v)) => v
                .parse::<T>()
                .map(Some)
                .map_err(|_| format!("bad value for --{key}: {v:?}")),
        }
    }

    pub fn get<T: FromStr>(&mut self, key: &str, default: T) -> Result<T, String> {
        Ok(self.opt(key)?.unwrap_or(default))
    }

    pub fn req<T: FromStr>(&mut self, key: &str) -> Result<T, String> {
        self.opt(key)?.ok_or_else(|| format!("--{key} is required"))
    }

    pub fn get_str(&mut self, key: &str, default: &str) -> String {
        match self.values.remove(key) {
            Some(Some(v)) => v,
            _ => default.to_string(),
        }
    }

    pub fn flag(&mut self, key: &str) -> bool {
        self.values.remove(key).is_some()
    }

    /// Fails on any option nobody consumed.
    pub fn finish(&self) -> Result<(), String> {
        if let Some(k) = self.values.keys().next() {
            return Err(format!("unknown option --{k}"));
        }
        Ok(())
    }
}
