//! Which objects are the interpreter's structure rather than the program's data: `sys.modules`,
//! modules, classes and their `__dict__`s (namespaces), and functions, code, cells,
//! descriptors (plumbing). Reports lead with the data and leave these out unless `--all`.

use crate::graph::{HeapGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// What an object is to the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The program's own data: instances, containers, strings, numbers.
    Data,
    /// Functions, code, cells, descriptors and the like: how code is held, not what it holds.
    Plumbing,
    /// `sys.modules`, a module, a class, or a module's or class's `__dict__`: where names live.
    Namespace,
}

impl Role {
    /// Whether reports leave the object out unless `--all`.
    pub fn is_interpreter(self) -> bool {
        self != Role::Data
    }
}

/// Types whose objects hold code or its wiring.
const PLUMBING_TYPES: &[&str] = &[
    "function",
    "builtin_function_or_method",
    "code",
    "cell",
    "property",
    "classmethod",
    "staticmethod",
    "method_descriptor",
    "classmethod_descriptor",
    "wrapper_descriptor",
    "getset_descriptor",
    "member_descriptor",
    "method-wrapper",
    "mappingproxy",
    "weakref",
    "weakref.ReferenceType",
    "frame",
    "_abc._abc_data",
];

/// Types of classes: `type` and the standard library's metaclasses.
const CLASS_TYPES: &[&str] = &["type", "abc.ABCMeta", "enum.EnumType", "enum.EnumMeta"];

/// Whether objects of the type named `name` are plumbing or namespaces by their type alone.
pub fn is_interpreter_type(name: &str) -> bool {
    name == "module" || CLASS_TYPES.contains(&name) || PLUMBING_TYPES.contains(&name)
}

/// The role of every node: by type, then by place (a class is whatever an instance's
/// `__class__` points to, or what heads its own `__mro__` tuple; a namespace dict is a
/// module's or class's `__dict__`; the root labelled `sys.modules` is the module table).
pub fn roles(graph: &HeapGraph) -> Vec<Role> {
    let mut roles: Vec<Role> = (0..graph.len() as NodeIndex)
        .map(|v| {
            let name = graph.type_name(v);
            if name == "module" || CLASS_TYPES.contains(&name) {
                Role::Namespace
            } else if PLUMBING_TYPES.contains(&name) {
                Role::Plumbing
            } else {
                Role::Data
            }
        })
        .collect();
    for v in 0..graph.len() as NodeIndex {
        for e in graph.edges(v) {
            if e.label.map(|l| graph.string(l)) == Some("__class__") {
                roles[e.target as usize] = Role::Namespace;
            }
        }
    }
    // A class of any metaclass is the first item of its own `__mro__`, whose last is `object`:
    // class → (class, …, object) → class.
    for t in 0..graph.len() as NodeIndex {
        let items = graph.targets(t);
        if graph.type_name(t) != "tuple" || items.len() < 2 {
            continue;
        }
        let first = graph
            .edges(t)
            .find(|e| e.label.map(|l| graph.string(l)) == Some("[0]"));
        let ends_in_a_class = items.last().is_some_and(|&o| graph.type_name(o) == "type");
        if let (Some(class), true) = (first.map(|e| e.target), ends_in_a_class) {
            if class != t && graph.targets(class).contains(&t) {
                roles[class as usize] = Role::Namespace;
                roles[t as usize] = Role::Plumbing;
            }
        }
    }
    // A second pass, now that every class is known: their dicts are namespaces too.
    for v in 0..graph.len() as NodeIndex {
        if roles[v as usize] != Role::Namespace {
            continue;
        }
        for e in graph.edges(v) {
            let label = e.label.map(|l| graph.string(l));
            if label == Some("__dict__") && graph.type_name(e.target) == "dict" {
                roles[e.target as usize] = Role::Namespace;
            }
        }
    }
    for root in &graph.roots {
        if root.label.map(|l| graph.string(l)) == Some("sys.modules") {
            roles[root.node as usize] = Role::Namespace;
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::labelled_graph;

    /// sys.modules → module → dict → instance → class → its dict, and a function with a
    /// closure cell; labels as the snapshot writes them.
    fn program() -> HeapGraph {
        let dict = Some("__dict__");
        labelled_graph(
            &[
                ("dict", &[(1, Some("['app']"))]), // 0 sys.modules
                ("module", &[(2, dict)]),          // 1
                ("dict", &[(3, None), (6, None)]), // 2 module globals
                (
                    "app.User",
                    &[(4, Some("__class__")), (7, dict), (10, Some(".pair"))],
                ), // 3
                ("app.Meta", &[(5, dict)]),        // 4 a class of a custom metaclass
                ("dict", &[]),                     // 5 the class's dict
                ("function", &[(2, None)]),        // 6
                ("dict", &[]),                     // 7 the instance's own dict
                ("typing._ProtocolMeta", &[(9, Some("__mro__"))]), // 8 no instance names it
                ("tuple", &[(8, Some("[0]")), (11, Some("[1]"))]), // 9 its __mro__
                ("tuple", &[(3, Some("[0]")), (7, Some("[1]"))]), // 10 a tuple of the program's
                ("type", &[]),                     // 11 object
            ],
            &[(0, Some("sys.modules"))],
        )
    }

    #[test]
    fn namespaces_are_found_by_type_and_by_place() {
        use Role::*;
        let got = roles(&program());
        assert_eq!(
            got,
            [
                Namespace, Namespace, Namespace, Data, Namespace, Namespace, Plumbing, Data,
                Namespace, Plumbing, Data, Namespace
            ]
        );
    }
}
