// scratch: not committed
use wasmtime_environ::component::*;
use wasmtime_environ::*;
fn main() {
    let input = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let mut tunables = meld::translate::tunables(true);
    tunables.concurrency_support = true;
    let scope = ScopeVec::new();
    let mut validator = wasmparser::Validator::new_with_features(meld::translate::features());
    let mut types = ComponentTypesBuilder::new(&validator);
    let (translation, modules) = Translator::new(&tunables, &mut validator, &mut types, &scope)
        .translate(&input)
        .unwrap();
    let c = &translation.component;
    println!("instances {}", c.num_runtime_component_instances);
    for (i, t) in translation.trampolines.iter() {
        println!("tramp {} {:?}", i.as_u32(), t);
    }
    for init in &c.initializers {
        match init {
            GlobalInitializer::InstantiateModule(InstantiateModule::Static(m, args), _) => {
                println!("instantiate module {} args {:?}", m.as_u32(), args);
            }
            other => println!("{other:?}"),
        }
    }
    for (i, m) in modules.iter() {
        let imports: Vec<String> = m.module.imports().map(|(a, b, _)| format!("{a}::{b}")).collect();
        println!("module {} imports {:?}", i.as_u32(), imports);
    }
    for (n, o) in c.options.iter() {
        println!("options {} {:?}", n.as_u32(), o);
    }
}
