import jetbrains.buildServer.configs.kotlin.*
import jetbrains.buildServer.configs.kotlin.buildSteps.script
import jetbrains.buildServer.configs.kotlin.failureConditions.BuildFailureOnMetric
import jetbrains.buildServer.configs.kotlin.failureConditions.failOnMetricChange

// Versioned settings for a TeamCity project that scans the bundled demo image with the
// Stowaway_Scan meta-runner (install plugins/teamcity/meta-runners/Stowaway_Scan.xml in this project
// or the Root project first; the runner type is the file name). The gate fails on the demo's 21
// critical and high findings, so the build shows 21 failed tests and one "stowaway_gate_failOn"
// build problem.

version = "2024.03"

project {
    buildType(ScanDemoImage)
}

object ScanDemoImage : BuildType({
    name = "Scan demo image (Stowaway)"
    artifactRules = "stowaway-reports => stowaway"

    vcs {
        root(DslContext.settingsRoot)
    }

    steps {
        script {
            name = "Install Stowaway"
            scriptContent = "npm ci && npm run build"
        }
        step {
            name = "Stowaway scan"
            type = "Stowaway_Scan"
            param("env.STOWAWAY_IMAGE", "oci-archive:examples/demo/demo-image.oci.tar")
            param("env.STOWAWAY_DB", "examples/demo/db")
            param("env.STOWAWAY_FAIL_ON", "high")
            param("env.STOWAWAY_REPORTS", "html,sarif")
            param("stowaway.command", "node plugins/teamcity/dist/main.js")
            // For a private registry, reference a password parameter defined in the project:
            // param("env.STOWAWAY_USERNAME", "robot")
            // param("env.STOWAWAY_PASSWORD", "%registry.password%")
        }
    }

    failureConditions {
        // Optional: also fail on the statistic the runner reports (any CRITICAL finding), whatever the policy says.
        failOnMetricChange {
            param("metricKey", "stowaway.critical")
            threshold = 0
            units = BuildFailureOnMetric.MetricUnit.DEFAULT_UNIT
            comparison = BuildFailureOnMetric.MetricComparison.MORE
            compareTo = value()
        }
    }
})
