//! Reader of GRUG recipes in GraphML, Fluxion's recipe format.
//!
//! `<key>` elements declare attributes and their defaults, `<node>`s are
//! resource kinds and `<edge>`s generation rules. Errors name the file and
//! the line of the offending element.
use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{line_of, GraphError};
use crate::grug::{GenMethod, Recipe, RecipeEdge, RecipeVertex};

struct Element {
    id: String,
    /// Byte offset in the text (its line is counted only for an error).
    pos: usize,
    source: String,
    target: String,
    data: HashMap<String, String>,
}

fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Parse a GraphML recipe; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<Recipe, GraphError> {
    let mut reader = Reader::from_str(text);
    let xml_err = |pos: usize, msg: String| GraphError::Xml {
        path: origin.to_owned(),
        line: line_of(text, pos),
        msg,
    };
    // Key id -> attribute name.
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut node_defaults: HashMap<String, String> = HashMap::new();
    let mut edge_defaults: HashMap<String, String> = HashMap::new();
    let mut nodes: Vec<Element> = Vec::new();
    let mut edges: Vec<Element> = Vec::new();
    let mut graph_name = String::new();
    // Parse state.
    let mut cur_key: Option<(String, String)> = None; // (key id, for)
    let mut in_default = false;
    let mut cur_elem: Option<(bool, Element)> = None; // (is_node, element)
    let mut cur_data: Option<String> = None;
    let mut text_buf = String::new();
    let mut saw_graphml = false;
    let mut depth: usize = 0;

    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader
            .read_event()
            .map_err(|e| xml_err(reader.buffer_position() as usize, e.to_string()))?;
        if matches!(ev, Event::End(_)) {
            depth = depth.saturating_sub(1);
        }
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                if !empty {
                    depth += 1;
                }
                match e.name().as_ref() {
                    b"graphml" => saw_graphml = true,
                    b"key" => {
                        let id = attr(e, b"id")
                            .ok_or_else(|| xml_err(pos, "<key> without id".into()))?;
                        let name = attr(e, b"attr.name").unwrap_or_else(|| id.clone());
                        let f = attr(e, b"for").unwrap_or_else(|| "all".into());
                        keys.insert(id.clone(), name);
                        if !empty {
                            cur_key = Some((id, f));
                        }
                    }
                    b"default" => {
                        in_default = true;
                        text_buf.clear();
                    }
                    b"graph" => graph_name = attr(e, b"id").unwrap_or_default(),
                    b"node" | b"edge" => {
                        let is_node = e.name().as_ref() == b"node";
                        let id = attr(e, b"id").unwrap_or_default();
                        if is_node && id.is_empty() {
                            return Err(xml_err(pos, "<node> without id".into()));
                        }
                        let el = Element {
                            id,
                            pos,
                            source: attr(e, b"source").unwrap_or_default(),
                            target: attr(e, b"target").unwrap_or_default(),
                            data: HashMap::new(),
                        };
                        if empty {
                            if is_node {
                                nodes.push(el)
                            } else {
                                edges.push(el)
                            }
                        } else {
                            cur_elem = Some((is_node, el));
                        }
                    }
                    b"data" => {
                        let k = attr(e, b"key")
                            .ok_or_else(|| xml_err(pos, "<data> without key".into()))?;
                        if cur_elem.is_none() {
                            // data on the graph itself: ignored
                        } else if !empty {
                            cur_data = Some(k);
                            text_buf.clear();
                        } else if let Some((_, el)) = cur_elem.as_mut() {
                            el.data.insert(k, String::new());
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if in_default || cur_data.is_some() => {
                let s = t.unescape().map_err(|e| xml_err(pos, e.to_string()))?;
                text_buf.push_str(&s);
            }
            Event::End(e) => match e.name().as_ref() {
                b"default" => {
                    in_default = false;
                    if let Some((id, f)) = &cur_key {
                        let v = text_buf.trim().to_owned();
                        let name = keys[id].clone();
                        if f == "node" || f == "all" {
                            node_defaults.insert(name.clone(), v.clone());
                        }
                        if f == "edge" || f == "all" {
                            edge_defaults.insert(name, v);
                        }
                    }
                }
                b"key" => cur_key = None,
                b"data" => {
                    if let (Some(k), Some((_, el))) = (cur_data.take(), cur_elem.as_mut()) {
                        el.data.insert(k, text_buf.trim().to_owned());
                    }
                }
                b"node" | b"edge" => {
                    if let Some((is_node, el)) = cur_elem.take() {
                        if is_node {
                            nodes.push(el)
                        } else {
                            edges.push(el)
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => {
                if depth > 0 {
                    return Err(xml_err(
                        text.len(),
                        "unexpected end of file: unclosed elements".into(),
                    ));
                }
                break;
            }
            _ => {}
        }
    }
    if !saw_graphml {
        return Err(GraphError::Recipe {
            path: origin.to_owned(),
            what: "not a GraphML document (no <graphml> element)".into(),
        });
    }

    let recipe_err = |pos: usize, what: String| GraphError::Recipe {
        path: origin.to_owned(),
        what: format!("line {}: {what}", line_of(text, pos)),
    };
    // Resolve an element's value of attribute `name`: its own <data>, else
    // the key default.
    let value = |el: &Element, name: &str, defaults: &HashMap<String, String>| -> Option<String> {
        for (k, v) in &el.data {
            let kn = keys.get(k).map_or(k.as_str(), String::as_str);
            if kn == name {
                return Some(v.clone());
            }
        }
        defaults.get(name).cloned()
    };
    let int = |el: &Element,
               name: &str,
               defaults: &HashMap<String, String>,
               dflt: i64|
     -> Result<i64, GraphError> {
        match value(el, name, defaults) {
            None => Ok(dflt),
            Some(s) if s.is_empty() => Ok(dflt),
            Some(s) => s.parse::<i64>().map_err(|_| {
                recipe_err(
                    el.pos,
                    format!("'{}': {name} must be an integer, got '{s}'", el.id),
                )
            }),
        }
    };
    for el in nodes.iter().chain(edges.iter()) {
        for k in el.data.keys() {
            if !keys.contains_key(k) {
                return Err(recipe_err(
                    el.pos,
                    format!("'{}': undeclared data key '{k}'", el.id),
                ));
            }
        }
    }

    let mut index: HashMap<String, usize> = HashMap::new();
    let mut vertices = Vec::new();
    for el in &nodes {
        if index.insert(el.id.clone(), vertices.len()).is_some() {
            return Err(recipe_err(el.pos, format!("duplicate node id '{}'", el.id)));
        }
        let typ = value(el, "type", &node_defaults).unwrap_or_default();
        if typ.is_empty() {
            return Err(recipe_err(
                el.pos,
                format!("node '{}': missing type", el.id),
            ));
        }
        vertices.push(RecipeVertex {
            key: el.id.clone(),
            root: int(el, "root", &node_defaults, 0)? != 0,
            basename: value(el, "basename", &node_defaults).unwrap_or_else(|| typ.clone()),
            typ,
            size: int(el, "size", &node_defaults, 1)?,
            unit: value(el, "unit", &node_defaults).unwrap_or_default(),
            subsystem: value(el, "subsystem", &node_defaults)
                .unwrap_or_else(|| "containment".into()),
            properties: Vec::new(),
        });
    }
    let mut redges = Vec::new();
    for el in &edges {
        let s = *index.get(&el.source).ok_or_else(|| {
            recipe_err(
                el.pos,
                format!("edge '{}': unknown source '{}'", el.id, el.source),
            )
        })?;
        let t = *index.get(&el.target).ok_or_else(|| {
            recipe_err(
                el.pos,
                format!("edge '{}': unknown target '{}'", el.id, el.target),
            )
        })?;
        let mut e = RecipeEdge::new(s, t);
        let d = &edge_defaults;
        if let Some(v) = value(el, "e_subsystem", d) {
            e.e_subsystem = v;
        }
        if let Some(v) = value(el, "relation", d) {
            e.relation = v;
        }
        if let Some(v) = value(el, "rrelation", d) {
            e.rrelation = v;
        }
        if let Some(v) = value(el, "as_tgt_subsystem", d) {
            e.as_tgt_subsystem = v;
        }
        e.id_scope = int(el, "id_scope", d, 0)?;
        e.id_start = int(el, "id_start", d, 0)?;
        e.id_stride = int(el, "id_stride", d, 1)?;
        e.multi_scale = int(el, "multi_scale", d, 1)?;
        e.as_tgt_uplvl = int(el, "as_tgt_uplvl", d, 1)?;
        e.as_src_uplvl = int(el, "as_src_uplvl", d, 1)?;
        if let Some(m) = value(el, "gen_method", d) {
            e.gen_method = GenMethod::parse(&m).ok_or_else(|| {
                recipe_err(
                    el.pos,
                    format!("edge '{}': unknown gen_method '{m}'", el.id),
                )
            })?;
        }
        redges.push(e);
    }
    Ok(Recipe {
        name: graph_name,
        origin: origin.to_owned(),
        vertices,
        edges: redges,
    })
}
