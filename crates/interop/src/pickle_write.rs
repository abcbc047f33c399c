//! Writes a [`Value`] tree as a protocol-2 pickle with the opcodes CPython's
//! pickler uses for the same objects when `torch.save` runs:
//!
//! - `PROTO 2`;
//! - `GLOBAL` + `REDUCE` for OrderedDict and tensors;
//! - `GLOBAL` + `EMPTY_TUPLE` + `NEWOBJ` + `BUILD` for plain class instances;
//! - `BINPERSID` for storages;
//! - `MARK ... SETITEMS/APPENDS` in batches of 1000.
//!
//! Globals are memoized and re-used with `BINGET`, as the pickler does.

use std::collections::HashMap;

use crate::pickle_read::{Construct, Value};

/// Items per `SETITEMS`/`APPENDS` batch (CPython's `_BATCHSIZE`).
const BATCH: usize = 1000;

struct Writer {
    out: Vec<u8>,
    globals: HashMap<String, u32>,
    next_memo: u32,
}

/// Serializes `value` (ending with `STOP`).
pub fn to_bytes(value: &Value) -> Vec<u8> {
    let mut w = Writer { out: vec![0x80, 2], globals: HashMap::new(), next_memo: 0 };
    w.value(value);
    w.out.push(b'.');
    w.out
}

impl Writer {
    fn put(&mut self) {
        let k = self.next_memo;
        self.next_memo += 1;
        if k < 256 {
            self.out.extend([b'q', k as u8]);
        } else {
            self.out.push(b'r');
            self.out.extend(k.to_le_bytes());
        }
    }

    fn get(&mut self, k: u32) {
        if k < 256 {
            self.out.extend([b'h', k as u8]);
        } else {
            self.out.push(b'j');
            self.out.extend(k.to_le_bytes());
        }
    }

    fn global(&mut self, dotted: &str) {
        if let Some(&k) = self.globals.get(dotted) {
            self.get(k);
            return;
        }
        let (module, name) = dotted.rsplit_once('.').unwrap_or(("", dotted));
        self.out.push(b'c');
        self.out.extend(module.as_bytes());
        self.out.push(b'\n');
        self.out.extend(name.as_bytes());
        self.out.push(b'\n');
        self.globals.insert(dotted.to_string(), self.next_memo);
        self.put();
    }

    fn int(&mut self, v: i64) {
        if (0..256).contains(&v) {
            self.out.extend([b'K', v as u8]);
        } else if (0..65536).contains(&v) {
            self.out.push(b'M');
            self.out.extend((v as u16).to_le_bytes());
        } else if i32::try_from(v).is_ok() {
            self.out.push(b'J');
            self.out.extend((v as i32).to_le_bytes());
        } else {
            // LONG1: minimal two's-complement little-endian bytes.
            let bytes = v.to_le_bytes();
            let mut n = 8;
            while n > 1 {
                let (last, prev) = (bytes[n - 1], bytes[n - 2]);
                if (last == 0 && prev & 0x80 == 0) || (last == 0xff && prev & 0x80 != 0) {
                    n -= 1;
                } else {
                    break;
                }
            }
            self.out.extend([0x8a, n as u8]);
            self.out.extend(&bytes[..n]);
        }
    }

    fn items(&mut self, items: &[Value], close: u8) {
        for chunk in items.chunks(BATCH) {
            self.out.push(b'(');
            for v in chunk {
                self.value(v);
            }
            self.out.push(close);
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::None => self.out.push(b'N'),
            Value::Bool(b) => self.out.push(if *b { 0x88 } else { 0x89 }),
            Value::Int(i) => self.int(*i),
            Value::Float(f) => {
                self.out.push(b'G');
                self.out.extend(f.to_be_bytes());
            }
            Value::Str(s) => {
                self.out.push(b'X');
                self.out.extend((s.len() as u32).to_le_bytes());
                self.out.extend(s.as_bytes());
                self.put();
            }
            Value::Bytes(b) => {
                self.out.push(b'B');
                self.out.extend((b.len() as u32).to_le_bytes());
                self.out.extend(b);
                self.put();
            }
            Value::Tuple(items) => match items.len() {
                0 => self.out.push(b')'),
                1..=3 => {
                    for x in items {
                        self.value(x);
                    }
                    self.out.push(0x84 + items.len() as u8);
                    self.put();
                }
                _ => {
                    self.out.push(b'(');
                    for x in items {
                        self.value(x);
                    }
                    self.out.push(b't');
                    self.put();
                }
            },
            Value::List(items) => {
                self.out.push(b']');
                self.put();
                self.items(items, b'e');
            }
            Value::Dict { ordered, items } => {
                if *ordered {
                    self.global("collections.OrderedDict");
                    self.out.extend([b')', b'R']);
                } else {
                    self.out.push(b'}');
                }
                self.put();
                let flat: Vec<Value> = items.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect();
                if !flat.is_empty() {
                    for chunk in flat.chunks(2 * BATCH) {
                        self.out.push(b'(');
                        for x in chunk {
                            self.value(x);
                        }
                        self.out.push(b'u');
                    }
                }
            }
            Value::Global(name) => self.global(name),
            Value::Object { class, construct, args, state } => {
                self.global(class);
                self.value(&Value::Tuple(args.clone()));
                self.out.push(match construct {
                    Construct::Reduce => b'R',
                    Construct::NewObj => 0x81,
                });
                self.put();
                if let Some(s) = state {
                    self.value(s);
                    self.out.push(b'b');
                }
            }
            Value::PersistentId(pid) => {
                self.value(pid);
                self.out.push(b'Q');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle_read::parse;

    #[test]
    fn round_trips_every_value_kind() -> Result<(), crate::error::InteropError> {
        let v = Value::Dict {
            ordered: true,
            items: vec![
                (Value::Str("a".into()), Value::Int(-5)),
                (Value::Str("b".into()), Value::Int(70000)),
                (Value::Str("c".into()), Value::Int(1 << 40)),
                (Value::Str("d".into()), Value::Int(-(1 << 40))),
                (Value::Str("e".into()), Value::Float(0.1)),
                (Value::Str("f".into()), Value::List((0..2500).map(Value::Int).collect())),
                (Value::Str("g".into()), Value::Tuple(vec![Value::None, Value::Bool(true), Value::Bool(false), Value::Int(1)])),
                (
                    Value::Str("h".into()),
                    Value::Object {
                        class: "utils.HParams".into(),
                        construct: Construct::NewObj,
                        args: vec![],
                        state: Some(Box::new(Value::Dict { ordered: false, items: vec![(Value::Str("x".into()), Value::Int(1))] })),
                    },
                ),
            ],
        };
        let p = parse(&to_bytes(&v), "test")?;
        assert_eq!(p.value, v);
        assert_eq!(p.globals, vec!["collections.OrderedDict".to_string(), "utils.HParams".to_string()]);
        Ok(())
    }
}
