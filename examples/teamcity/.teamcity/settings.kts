import jetbrains.buildServer.configs.kotlin.*

// Versioned settings, the whole setup: one build with a Stowaway_Scan step that names the image.
// Install plugins/teamcity/meta-runners/Stowaway_Scan.xml in this project or the Root project first
// (the runner type is the file name); agents need Node 20 and `npm install --global
// @stowaway/plugin-teamcity@0.1.0`. The step provisions the vulnerability database on the agent and
// fails the build on critical findings (the default gate of every Stowaway adapter; set
// env.STOWAWAY_FAIL_ON to none to turn it off): one failed test per critical finding and one
// "stowaway_gate_failOn" build problem, stowaway.* statistics, and the reports as artifacts.

version = "2024.03"

project {
    buildType(ScanImage)
}

object ScanImage : BuildType({
    name = "Scan image (Stowaway)"

    steps {
        step {
            name = "Stowaway scan"
            type = "Stowaway_Scan"
            param("env.STOWAWAY_IMAGE", "registry.example.com/acme/shop:latest")
        }
    }
})
