// Runs vars/<step>.groovy in plain Groovy on the step stubs, the way a pipeline calls a global var:
//   groovy -cp test/stubs test/stubs/run-step.groovy VARS_FILE ARGS_JSON [CREDENTIALS_JSON]
// Prints the step's console output, then one line `STUB_STATE <json>` with what the steps recorded.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration

def stepFile = new File(args[0])
Map stepArgs = new JsonSlurper().parse(new File(args[1])) as Map
if (args.length > 2) { StepStubs.state.credentialStore = new JsonSlurper().parse(new File(args[2])) }

def config = new CompilerConfiguration()
config.scriptBaseClass = 'StepStubs'
def step = new GroovyShell(this.class.classLoader, new Binding(), config).parse(stepFile)

Map outcome = [:]
try {
    outcome.returned = step.call(stepArgs)
} catch (StepError e) {
    // An uncaught error() fails the build in Jenkins.
    outcome.error = e.message
    StepStubs.build.result = 'FAILURE'
}
Map state = StepStubs.state.findAll { it.key != 'credentialStore' }
println('STUB_STATE ' + JsonOutput.toJson(outcome + state + [result: StepStubs.build.result]))
