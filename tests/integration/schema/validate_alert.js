// Judges alert files against schemas/alert.schema.json with ajv (JSON Schema draft
// 2020-12), for the test that compares the broker plugin's validator with the schema.
//
// Usage: node validate_alert.js SCHEMA FILE...
// Prints one line per file: "FILE<TAB>accept" or
// "FILE<TAB>reject<TAB>REASON<TAB>MESSAGE", where REASON is invalid_json or schema.
// ajv comes from NODE_PATH.
//
// A file is judged on its JSON data model, as JSON Schema defines it. Its bytes are
// decoded as UTF-8 with invalid sequences replaced by U+FFFD, JSON.parse keeps the
// last of duplicate members, and the size in bytes plays no part.
'use strict';

const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');

function main(argv) {
    if (argv.length < 2) {
        process.stderr.write('usage: node validate_alert.js SCHEMA FILE...\n');
        return 2;
    }
    const schema = JSON.parse(fs.readFileSync(argv[0], 'utf8'));
    // Strict mode stays on for unknown keywords and tuples. strictTypes and
    // strictRequired are off because they reject two standard idioms the schema uses:
    // "minItems" in an if/then branch without "type", and "required" naming a member
    // defined outside that branch.
    const ajv = new Ajv2020({strict: true, strictTypes: false, strictRequired: false});
    const validate = ajv.compile(schema);

    for (const path of argv.slice(1)) {
        let alert;

        try {
            alert = JSON.parse(fs.readFileSync(path).toString('utf8'));
        } catch (error) {
            console.log(`${path}\treject\tinvalid_json\t${error.message}`);
            continue;
        }
        if (validate(alert)) {
            console.log(`${path}\taccept`);
        } else {
            const first = validate.errors[0];
            const where = first.instancePath || '/';

            console.log(`${path}\treject\tschema\t${where} ${first.message}`);
        }
    }
    return 0;
}

process.exitCode = main(process.argv.slice(2));
