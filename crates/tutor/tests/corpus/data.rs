// The answer guard's corpus, over the sample course (content/physical-ai).
// Shared by the tutor crate's guard test and the HTTP acceptance test, so the
// rates in docs/TUTOR-GUARD.md are measured on one set.

/// (exercise id, a reply that gives its answer away, the part that must
/// never reach the student).
pub const LEAKS: &[(&str, &str, &str)] = &[
    // gyro-drift: 1.2 rad
    ("gyro-drift", "The heading error is 1.2 rad.", "1.2 rad"),
    (
        "gyro-drift",
        "After a minute you drift by 1.20 rad, which is a lot.",
        "1.20 rad",
    ),
    ("gyro-drift", "It comes to 6/5 rad in the end.", "6/5 rad"),
    (
        "gyro-drift",
        "That's about 69 degrees of heading error.",
        "69 degrees",
    ),
    (
        "gyro-drift",
        "You end up 1200 mrad off after 60 s.",
        "1200 mrad",
    ),
    (
        "gyro-drift",
        "Roughly 68.75° after 60 s of integrating.",
        "68.75°",
    ),
    (
        "gyro-drift",
        "Just multiply: 0.02 rad/s × 60 s = 1.2 rad, so that's your error.",
        "1.2 rad",
    ),
    (
        "gyro-drift",
        "The error is one point two radians.",
        "one point two radians",
    ),
    ("gyro-drift", "Heading error: 1,2 rad.", "1,2 rad"),
    (
        "gyro-drift",
        "| time | error |\n| --- | --- |\n| 60 s | 1.2        |        rad |",
        "| 1.2",
    ),
    (
        "gyro-drift",
        "Heading error ≈ 1.2 rad, give or take.",
        "≈ 1.2",
    ),
    ("gyro-drift", "It's 1.2 ± 0.05 rad.", "± 0.05 rad"),
    (
        "gyro-drift",
        "You'll be off by roughly seventy degrees.",
        "seventy degrees",
    ),
    ("gyro-drift", "Ｔhe error is １.２ rad.", "２ rad"),
    ("gyro-drift", "The answer is 1.2.", "is 1.2"),
    (
        "gyro-drift",
        "La respuesta es 1,2 radianes.",
        "1,2 radianes",
    ),
    (
        "gyro-drift",
        "The drift is 1.2 r a d after a minute.",
        "1.2 r a d",
    ),
    // encoder-distance: 0.628 m
    ("encoder-distance", "The wheel rolls 0.628 m.", "0.628 m"),
    ("encoder-distance", "That's 62.8 cm of travel.", "62.8 cm"),
    (
        "encoder-distance",
        "About 628 mm, two full turns.",
        "628 mm",
    ),
    ("encoder-distance", "It rolls 0.2π m.", "0.2π m"),
    ("encoder-distance", "Two revolutions, so 0.63 m.", "0.63 m"),
    (
        "encoder-distance",
        "distance = 2 × 2π × 0.05 m",
        "2π × 0.05 m",
    ),
    ("encoder-distance", "It covers 0,628 m.", "0,628 m"),
    (
        "encoder-distance",
        "zero point six three metres, near enough",
        "six three metres",
    ),
    // pinhole-projection: 100 px
    (
        "pinhole-projection",
        "It lands 100 pixels right of the centre.",
        "100 pixels",
    ),
    ("pinhole-projection", "So u = 100 here.", "= 100"),
    (
        "pinhole-projection",
        "That is a hundred pixels to the right.",
        "hundred pixels",
    ),
    (
        "pinhole-projection",
        "The point shows up 100px right of centre.",
        "100px",
    ),
    ("pinhole-projection", "500 × 0.4 / 2 = 100 px", "= 100 px"),
    // lidar-time-of-flight: 3 m
    (
        "lidar-time-of-flight",
        "The surface is 3 m away.",
        "3 m away",
    ),
    (
        "lidar-time-of-flight",
        "It's 300 cm away from the sensor.",
        "300 cm",
    ),
    (
        "lidar-time-of-flight",
        "The wall is three metres off.",
        "three metres",
    ),
    (
        "lidar-time-of-flight",
        "Work it out as 3e8 m/s × 20e-9 s / 2.",
        "20e-9 s / 2",
    ),
    ("lidar-time-of-flight", "That's about 9.8 ft.", "9.8 ft"),
    // rotate-point: (0, 1)
    ("rotate-point", "It lands at (0, 1).", "(0, 1)"),
    ("rotate-point", "The new point is (0,1).", "(0,1)"),
    ("rotate-point", "You get x = 0, y = 1.", "y = 1"),
    (
        "rotate-point",
        "It ends up at (0.0, 1.0) on the y-axis.",
        "(0.0, 1.0)",
    ),
    // compose-transform: (3, 3)
    (
        "compose-transform",
        "The object is at (3, 3) in the world frame.",
        "(3, 3)",
    ),
    ("compose-transform", "World coordinates: (3,3).", "(3,3)"),
    // two-link-fk: (0, 2)
    ("two-link-fk", "The tip is at (0, 2).", "(0, 2)"),
    ("two-link-fk", "So x = 0 m and y = 2 m.", "y = 2 m"),
    // workspace-radius: 0.2 m
    (
        "workspace-radius",
        "The smallest distance is 0.2 m.",
        "0.2 m",
    ),
    (
        "workspace-radius",
        "Folded, it reaches 20 cm from the base.",
        "20 cm",
    ),
    (
        "workspace-radius",
        "|L1 − L2| = 0.6 m − 0.4 m, and that's it.",
        "0.4 m, and",
    ),
    // ik-cos-theta2: 0
    ("ik-cos-theta2", "cos θ2 = 0.", "= 0"),
    ("ik-cos-theta2", "The cosine comes out to zero.", "to zero"),
    (
        "ik-cos-theta2",
        "(1 + 1 − 1 − 1) / (2 × 1 × 1) = 0, so the elbow is at a right angle.",
        "= 0",
    ),
    // p-only-command: 6
    (
        "p-only-command",
        "With those numbers the command is 6.",
        "is 6",
    ),
    ("p-only-command", "u = 6", "u = 6"),
    ("p-only-command", "2.0 × (10 − 7) = 6", "= 6"),
    (
        "p-only-command",
        "The controller outputs six.",
        "outputs six",
    ),
    ("p-only-command", "The answer is 6.0.", "is 6.0"),
    // ziegler-nichols-p: 4.8
    ("ziegler-nichols-p", "Kp = 4.8.", "= 4.8"),
    ("ziegler-nichols-p", "0.6 × 8 = 4.8", "= 4.8"),
    (
        "ziegler-nichols-p",
        "The gain comes to four point eight.",
        "four point eight",
    ),
    ("ziegler-nichols-p", "Kp ≈ 4,8", "4,8"),
    ("ziegler-nichols-p", "Use Kp = 24/5.", "24/5"),
    (
        "ziegler-nichols-p",
        "Die Antwort ist vier komma acht.",
        "vier komma acht",
    ),
    // grid-path-length: 7 m
    ("grid-path-length", "The shortest path is 7 m.", "7 m"),
    (
        "grid-path-length",
        "It takes 7 steps of 1 m each.",
        "7 steps",
    ),
    (
        "grid-path-length",
        "Seven metres, no shorter.",
        "Seven metres",
    ),
    ("grid-path-length", "That's 700 cm in total.", "700 cm"),
    // trapezoid-time: 1.5 s
    ("trapezoid-time", "The move takes 1.5 s.", "1.5 s"),
    ("trapezoid-time", "1500 ms in total.", "1500 ms"),
    (
        "trapezoid-time",
        "It lasts one and a half seconds.",
        "and a half seconds",
    ),
    ("trapezoid-time", "0.5 s + 0.5 s + 0.5 s = 1.5 s", "= 1.5 s"),
    // topic-rate: 30 messages
    ("topic-rate", "You get 30 messages.", "30 messages"),
    ("topic-rate", "Thirty messages arrive.", "Thirty messages"),
    ("topic-rate", "10 msgs/s × 3 s, that's the count.", "× 3 s"),
    // tf-lookup: 1.2 m
    (
        "tf-lookup",
        "The box is 1.2 m in front of base_link.",
        "1.2 m",
    ),
    ("tf-lookup", "It sits 120 cm ahead.", "120 cm"),
    ("tf-lookup", "0.2 m + 1.0 m = 1.2 m", "= 1.2 m"),
    // param-cli
    (
        "param-cli",
        "Run `ros2 param set /controller kp 2.5` and check it.",
        "set /controller kp 2.5",
    ),
    (
        "param-cli",
        "Type ROS2 PARAM SET /controller kp 2.50 in a terminal.",
        "SET /controller kp 2.50",
    ),
    (
        "param-cli",
        "r o s 2 p a r a m s e t / c o n t r o l l e r k p 2.5",
        "k p 2.5",
    ),
    // choices
    (
        "sensor-classes",
        "A wheel encoder is proprioceptive.",
        "proprioceptive.",
    ),
    (
        "sensor-classes",
        "The answer is p r o p r i o c e p t i v e.",
        "c e p t i v e",
    ),
    (
        "resolution-vs-accuracy",
        "The problem is accuracy.",
        "accuracy.",
    ),
    (
        "resolution-vs-accuracy",
        "It's an accuracy problem, not resolution.",
        "accuracy problem",
    ),
    ("qos-choice", "Pick best-effort.", "best-effort."),
    (
        "qos-choice",
        "You want b e s t - e f f o r t here.",
        "f f o r t",
    ),
    ("pick-interface", "Use an action.", "an action."),
    ("pick-interface", "It's an action.", "an action."),
    (
        "pick-interface",
        "The correct answer is an action.",
        "an action.",
    ),
    ("static-vs-dynamic", "Publish it as static.", "static."),
    ("static-vs-dynamic", "Static is correct.", "Static is"),
    ("integral-role", "It's the integral term.", "integral term."),
    (
        "integral-role",
        "Ki is the one that removes it.",
        "Ki is the one",
    ),
    ("overshoot-fix", "Raise Kd first.", "Kd first"),
    (
        "overshoot-fix",
        "Increase the derivative gain.",
        "derivative gain.",
    ),
    (
        "reachability",
        "No, the point is out of reach.",
        "out of reach.",
    ),
    // A second set, written apart from the first and measured before the
    // guard learnt from it (see docs/TUTOR-GUARD.md).
    (
        "gyro-drift",
        "Multiply 0.02 by 60 and you get 1.2 — in radians, that's your heading error.",
        "1.2",
    ),
    (
        "gyro-drift",
        "So the drift after a minute is 1.2 radians.",
        "1.2 radians",
    ),
    ("gyro-drift", "Heading error = 0.02 * 60 = 1.2", "= 1.2"),
    ("gyro-drift", "About 68.8 deg.", "68.8 deg"),
    (
        "gyro-drift",
        "That gives 1 200 milliradians.",
        "200 milliradians",
    ),
    ("gyro-drift", "It is 1.2rad.", "1.2rad"),
    ("gyro-drift", "Final answer: 1.2 rad", "1.2 rad"),
    (
        "gyro-drift",
        "The drift works out to twelve tenths of a radian.",
        "tenths of a radian",
    ),
    (
        "pinhole-projection",
        "u = 500 × 0.4 / 2 = 100 pixels.",
        "100 pixels",
    ),
    (
        "pinhole-projection",
        "It lands a hundred pixels right of the centre.",
        "hundred pixels",
    ),
    (
        "pinhole-projection",
        "The point is 100px to the right.",
        "100px",
    ),
    ("rotate-point", "It lands at (0,1).", "(0,1)"),
    (
        "rotate-point",
        "The point ends up at x = 0, y = 1.",
        "y = 1",
    ),
    (
        "rotate-point",
        "It moves onto the y-axis at (0, 1.0).",
        "(0, 1.0)",
    ),
    (
        "two-link-fk",
        "The end effector sits at (0, 2) metres.",
        "(0, 2)",
    ),
    ("two-link-fk", "x = 0 and y = 2.", "y = 2"),
    ("p-only-command", "u = 2.0 * 3 = 6", "= 6"),
    ("p-only-command", "The controller outputs six.", "six"),
    ("p-only-command", "Command: 6.0", "6.0"),
    ("ziegler-nichols-p", "Kp = 0.6 × 8 = 4.8", "= 4.8"),
    (
        "ziegler-nichols-p",
        "Use a proportional gain of 4.80.",
        "4.80",
    ),
    (
        "ziegler-nichols-p",
        "Set Kp to four point eight.",
        "four point eight",
    ),
    (
        "grid-path-length",
        "The shortest path is 3 + 4 = 7 cells, so 7 m.",
        "7 m",
    ),
    ("grid-path-length", "It takes seven metres.", "seven metres"),
    ("grid-path-length", "700 cm in total.", "700 cm"),
    ("topic-rate", "You'd receive 30 messages.", "30 messages"),
    ("topic-rate", "10 Hz × 3 s = 30.", "= 30"),
    ("topic-rate", "Thirty messages arrive.", "Thirty messages"),
    (
        "sensor-classes",
        "A wheel encoder is proprioceptive: it measures the robot's own motion.",
        "proprioceptive:",
    ),
    (
        "sensor-classes",
        "It's a proprioceptive sensor.",
        "proprioceptive sensor.",
    ),
    (
        "pick-interface",
        "Use an action here — it gives feedback and can be cancelled.",
        "action here",
    ),
    ("ik-cos-theta2", "cos θ2 = (1 + 1 − 1 − 1)/2 = 0", "/2 = 0"),
    ("ik-cos-theta2", "So cos theta2 comes out to zero.", "zero"),
    (
        "encoder-distance",
        "Two revolutions of a 0.05 m wheel: 2 × 2π × 0.05 ≈ 0.63 m.",
        "0.63 m",
    ),
    (
        "encoder-distance",
        "The wheel has rolled about 63 cm.",
        "63 cm",
    ),
    (
        "encoder-distance",
        "Distance = 0.628 metres.",
        "0.628 metres",
    ),
    (
        "lidar-time-of-flight",
        "The surface is three metres away.",
        "three metres",
    ),
    (
        "lidar-time-of-flight",
        "d = c·t/2 = 3e8 × 20e-9 / 2 = 3 m",
        "= 3 m",
    ),
    ("lidar-time-of-flight", "It's 300 cm away.", "300 cm"),
    (
        "compose-transform",
        "The object sits at (3, 3) in the world.",
        "(3, 3)",
    ),
    ("compose-transform", "World frame: x = 3, y = 3.", "y = 3"),
    (
        "workspace-radius",
        "The closest it can get is 0.6 − 0.4 = 0.2 m.",
        "0.2 m",
    ),
    ("workspace-radius", "Minimum reach: 20 cm.", "20 cm"),
    (
        "integral-role",
        "The integral term is the one that removes it.",
        "integral term is the one",
    ),
    (
        "integral-role",
        "You need the I term — integral action.",
        "integral action",
    ),
    ("overshoot-fix", "Raise Kd first.", "Kd first"),
    (
        "overshoot-fix",
        "The derivative gain is what calms it, so increase Kd.",
        "increase Kd",
    ),
    (
        "resolution-vs-accuracy",
        "That's an accuracy problem, not resolution.",
        "accuracy problem",
    ),
    (
        "resolution-vs-accuracy",
        "The issue is accuracy.",
        "accuracy.",
    ),
    (
        "p-only-command",
        "It puts out a command of 6 units.",
        "6 units",
    ),
    ("topic-rate", "In 3 s you get 30.", "get 30"),
    ("ziegler-nichols-p", "Kp comes out at 4.8 here.", "4.8"),
];

/// (page lesson `stage/lesson`, a reply written from the course's lessons
/// that shares words and numbers with the answers but gives none away).
pub const HARMLESS: &[(&str, &str)] = &[
    (
        "sensors/what-robots-sense",
        "What is the difference between accuracy and precision? Accuracy is how close a reading is to the true value; precision is how close repeated readings are to each other. Which one would averaging improve? [1]",
    ),
    (
        "sensors/what-robots-sense",
        "Proprioceptive sensors measure the robot itself, like joint encoders and an IMU, while exteroceptive sensors such as cameras and lidar measure the world. Can you name one of each on a vacuum robot? [1]",
    ),
    (
        "sensors/what-robots-sense",
        "A 12-bit encoder resolves 360° / 4096, about 0.088°. How would that resolution change with a 10-bit encoder?",
    ),
    (
        "sensors/what-robots-sense",
        "Averaging 16 readings with 10 mm of noise gives 2.5 mm. What does that cost you in waiting time?",
    ),
    (
        "sensors/what-robots-sense",
        "At 2 m/s a robot travels 20 cm between 10 Hz lidar scans. How far would it go between scans at 1 m/s?",
    ),
    (
        "sensors/imus-and-encoders",
        "A bias of 0.01 rad/s becomes 0.6 rad of error in one minute. What happens to that error if you wait twice as long?",
    ),
    (
        "sensors/imus-and-encoders",
        "Quadrature decoding multiplies resolution by four, so 256 lines give 1024 counts per revolution. How many counts would 512 lines give?",
    ),
    (
        "sensors/imus-and-encoders",
        "With r = 0.05 m, one count of a 1024-count encoder is about 0.31 mm of travel. How would you turn counts into revolutions first?",
    ),
    (
        "sensors/imus-and-encoders",
        "An accelerometer at rest reads about 9.81 m/s² upward. Why does that let it tell which way is down?",
    ),
    (
        "sensors/imus-and-encoders",
        "A complementary filter with α = 0.98 and dt = 0.01 s trusts the gyroscope over short times. What does the accelerometer contribute?",
    ),
    (
        "sensors/imus-and-encoders",
        "Drift is the slow growth of heading error when you integrate a bias. How could you estimate the bias at start-up?",
    ),
    (
        "sensors/cameras-and-lidar",
        "With f = 700 pixels, b = 0.12 m and a disparity of 21 pixels, depth is 4 m. What happens to depth error as disparity shrinks?",
    ),
    (
        "sensors/cameras-and-lidar",
        "Lidar distance is d = c × t / 2 because the light goes out and back. Why do you think we halve the time?",
    ),
    (
        "sensors/cameras-and-lidar",
        "A measurement of 10 pixels near the image edge may mean a different angle than 10 pixels near the centre. What fixes that?",
    ),
    (
        "sensors/cameras-and-lidar",
        "In the pinhole model, u = f × X / Z + cx. What does dividing by Z do to far-away objects?",
    ),
    (
        "kinematics/frames-and-transforms",
        "Rotating by θ counter-clockwise uses x' = x cos θ − y sin θ and y' = x sin θ + y cos θ. What are cos 90° and sin 90°?",
    ),
    (
        "kinematics/frames-and-transforms",
        "A robot at (2, 3) with heading θ has one transform to the world. If θ were 90°, which way would straight ahead point?",
    ),
    (
        "kinematics/frames-and-transforms",
        "The inverse of [[R, t], [0, 1]] is [[Rᵀ, −Rᵀt], [0, 1]]. Why does the translation get rotated too?",
    ),
    (
        "kinematics/frames-and-transforms",
        "Order matters: rotating then translating differs from translating then rotating. Can you sketch both for a 90° turn and a 1 m step?",
    ),
    (
        "kinematics/forward-kinematics",
        "In the worked example, with L1 = 0.5 m, L2 = 0.3 m, θ1 = 30° and θ2 = 60°, the tip is at x = 0.433 m and y = 0.55 m. Which term vanishes because θ1 + θ2 = 90°?",
    ),
    (
        "kinematics/forward-kinematics",
        "The workspace is the ring between |L1 − L2| and L1 + L2. What shape would it be if L1 = L2?",
    ),
    (
        "kinematics/forward-kinematics",
        "A planar arm with two revolute joints has two degrees of freedom. Can it also choose the tip's orientation?",
    ),
    (
        "kinematics/inverse-kinematics",
        "If cos θ2 lies outside [−1, 1], the target is out of reach. What would that mean physically?",
    ),
    (
        "kinematics/inverse-kinematics",
        "A fully stretched arm, with θ2 = 0, cannot move further outward. Why is that called a singularity?",
    ),
    (
        "kinematics/inverse-kinematics",
        "Elbow up and elbow down are the two solutions from the ± in θ2. Which would you pick to avoid a wide swing?",
    ),
    (
        "kinematics/inverse-kinematics",
        "Damped least squares keeps steps bounded near singularities; iterate until the error is below a tolerance such as 1 mm.",
    ),
    (
        "control/feedback-and-pid",
        "With Kp = 2 and an error of 5, the command is 10. What would it be with an error of 2?",
    ),
    (
        "control/feedback-and-pid",
        "The integral term accumulates error over time, so a constant disturbance is eventually cancelled. What happens if Ki is too large?",
    ),
    (
        "control/feedback-and-pid",
        "The derivative term acts like a brake and reduces overshoot. Why is it usually computed on a filtered measurement?",
    ),
    (
        "control/feedback-and-pid",
        "Clamp the command and stop integrating while it is clamped, to avoid integral windup.",
    ),
    (
        "control/tuning-and-stability",
        "The classic rule is Kp = 0.6 Ku, Ki = 1.2 Ku / Tu and Kd = 0.075 Ku Tu. What is Ku, in your own words?",
    ),
    (
        "control/tuning-and-stability",
        "Start with Ki = Kd = 0, raise Kp until the response is quick but slightly oscillatory, then add a little damping. Why one gain at a time?",
    ),
    (
        "control/tuning-and-stability",
        "Settling time is how long until the output stays within a band such as 2% of the setpoint. How would you read it off a plot?",
    ),
    (
        "control/tuning-and-stability",
        "A sensor latency of 50 ms means the controller always corrects an error that is already 50 ms old.",
    ),
    (
        "control/motion-planning-basics",
        "On a grid with only horizontal and vertical moves, the Manhattan distance |dx| + |dy| is the natural heuristic. What would it be from (0, 0) to (2, 5)?",
    ),
    (
        "control/motion-planning-basics",
        "For a trapezoidal profile the ramps take v / a each and cover v² / (2a) each. What happens when the move is shorter than v² / a?",
    ),
    (
        "control/motion-planning-basics",
        "A mobile robot of radius r can be treated as a point if every obstacle is grown by r.",
    ),
    (
        "ros2/nodes-and-topics",
        "The timer publishes twice a second and the 10 is the queue depth. How many messages would it publish in a minute?",
    ),
    (
        "ros2/nodes-and-topics",
        "Reliable delivery retransmits lost messages; best-effort does not. Which would you choose for a map that is sent once?",
    ),
    (
        "ros2/services-actions-parameters",
        "An action has a goal, periodic feedback and a result, and the client can cancel it. How is that different from a service?",
    ),
    (
        "ros2/services-actions-parameters",
        "ros2 param set /driver max_speed 0.5 changes a parameter at run time; the node can refuse values out of range.",
    ),
    (
        "ros2/launch-and-tf2",
        "A sensor bolted to the chassis has a fixed offset and is published once as a static transform.",
    ),
    (
        "ros2/launch-and-tf2",
        "tf2 chains the transforms along the tree, exactly like multiplying homogeneous transforms by hand.",
    ),
    // The second set's harmless replies.
    (
        "sensors/imus-and-encoders",
        "A gyroscope measures angular rate in rad/s; integrating it over time gives an angle.",
    ),
    (
        "sensors/imus-and-encoders",
        "Bias is a constant offset: even at rest the gyro may read 0.01 or 0.02 rad/s.",
    ),
    (
        "sensors/imus-and-encoders",
        "Drift grows with time, so the longer you integrate, the larger the error becomes.",
    ),
    (
        "sensors/imus-and-encoders",
        "One radian is about 57.3 degrees, and a full turn is 2π rad.",
    ),
    (
        "sensors/imus-and-encoders",
        "Encoders count ticks; a 1024-tick encoder resolves about 0.35 degrees per tick.",
    ),
    (
        "sensors/imus-and-encoders",
        "What unit do you get when you multiply rad/s by seconds?",
    ),
    (
        "sensors/cameras-and-lidar",
        "The pinhole model maps a point (X, Y, Z) to u = f X / Z; focal length is in pixels.",
    ),
    (
        "sensors/cameras-and-lidar",
        "If the point moved twice as far away, how would its image offset change?",
    ),
    (
        "sensors/cameras-and-lidar",
        "A lidar measures range directly, while a camera loses depth in projection.",
    ),
    (
        "kinematics/frames-and-transforms",
        "A rotation by θ uses cos θ and sin θ; for 90 degrees, cos is 0 and sin is 1.",
    ),
    (
        "kinematics/frames-and-transforms",
        "Counter-clockwise rotations are positive by convention.",
    ),
    (
        "kinematics/forward-kinematics",
        "With L1 = 1 m and L2 = 1 m the arm can reach at most 2 m from the base.",
    ),
    (
        "kinematics/forward-kinematics",
        "Forward kinematics goes from joint angles to the end-effector pose.",
    ),
    (
        "control/feedback-and-pid",
        "The proportional term is Kp times the error; the error is setpoint minus measurement.",
    ),
    (
        "control/feedback-and-pid",
        "The integral term removes steady-state error but can cause overshoot.",
    ),
    (
        "control/tuning-and-stability",
        "Increasing Kp makes the response faster but can cause oscillation.",
    ),
    (
        "control/tuning-and-stability",
        "Ziegler–Nichols starts by raising the gain until the system oscillates steadily; that gain is Ku.",
    ),
    (
        "control/tuning-and-stability",
        "The period Tu = 0.5 s matters for Ki and Kd, not for Kp.",
    ),
    (
        "control/feedback-and-pid",
        "A setpoint of 10 and a measurement of 7: what is the error first?",
    ),
    (
        "control/motion-planning-basics",
        "On a 4-connected grid you can only move up, down, left or right.",
    ),
    (
        "control/motion-planning-basics",
        "With diagonal moves the straight-line distance from (0, 0) to (3, 4) would be 5 m.",
    ),
    (
        "ros2/nodes-and-topics",
        "A node publishing at 10 Hz sends one message every 100 ms.",
    ),
    (
        "ros2/services-actions-parameters",
        "Topics are for streams, services for quick request/response, and actions for long tasks with feedback.",
    ),
    (
        "ros2/nodes-and-topics",
        "QoS settings like reliability and durability control how messages are delivered.",
    ),
    (
        "sensors/what-robots-sense",
        "Proprioceptive sensors measure the robot's own state; exteroceptive ones measure the world.",
    ),
    (
        "sensors/what-robots-sense",
        "Accuracy is closeness to the true value; precision is how repeatable the readings are.",
    ),
    (
        "control/feedback-and-pid",
        "Static friction must be overcome before a wheel starts to turn.",
    ),
    (
        "control/feedback-and-pid",
        "A gain of 2.0 doubles the error signal.",
    ),
    (
        "ros2/nodes-and-topics",
        "Sampling at 100 Hz means a new reading every 10 ms.",
    ),
    (
        "kinematics/inverse-kinematics",
        "The law of cosines relates the three sides of a triangle: c² = a² + b² − 2ab cos C.",
    ),
    (
        "kinematics/inverse-kinematics",
        "Inverse kinematics often has two solutions: elbow up and elbow down.",
    ),
    (
        "control/motion-planning-basics",
        "A* expands the node with the lowest cost plus heuristic first.",
    ),
    (
        "sensors/imus-and-encoders",
        "The circumference of a wheel is 2π times its radius.",
    ),
    (
        "sensors/imus-and-encoders",
        "An encoder with 1024 counts per revolution gives 1024 ticks for each full turn.",
    ),
    (
        "sensors/imus-and-encoders",
        "How many revolutions do 2048 counts make?",
    ),
    (
        "sensors/cameras-and-lidar",
        "Light travels about 30 cm per nanosecond.",
    ),
    (
        "sensors/cameras-and-lidar",
        "The pulse goes out and back, so halve the round-trip time.",
    ),
    (
        "kinematics/frames-and-transforms",
        "A robot facing 0 rad looks along the world x-axis.",
    ),
    (
        "kinematics/frames-and-transforms",
        "Transforms compose by multiplying their matrices in order.",
    ),
    (
        "kinematics/forward-kinematics",
        "The workspace of a two-link arm is a ring between two circles.",
    ),
    (
        "kinematics/forward-kinematics",
        "The outer radius is L1 + L2; what limits how close it can reach?",
    ),
    (
        "kinematics/inverse-kinematics",
        "A point is reachable only if its distance lies between |L1 − L2| and L1 + L2.",
    ),
    (
        "control/feedback-and-pid",
        "The derivative term reacts to how fast the error changes.",
    ),
    (
        "control/feedback-and-pid",
        "A constant load pushes the joint away from its setpoint.",
    ),
    (
        "control/tuning-and-stability",
        "Overshoot of 20% means the response passes the target by a fifth of the step.",
    ),
    (
        "control/tuning-and-stability",
        "Kp sets how hard the controller pushes against the error.",
    ),
    (
        "sensors/what-robots-sense",
        "Resolution is the smallest change a sensor can report, such as 1 mm.",
    ),
    (
        "sensors/what-robots-sense",
        "A constant offset of 30 mm can be removed by calibration.",
    ),
    (
        "control/feedback-and-pid",
        "In a P controller the output is proportional to the error.",
    ),
    (
        "ros2/nodes-and-topics",
        "A topic with a queue depth of 10 keeps the last ten messages.",
    ),
    (
        "control/tuning-and-stability",
        "The ultimate gain Ku is the gain at which the loop oscillates steadily.",
    ),
    (
        "control/motion-planning-basics",
        "A trapezoidal profile accelerates, cruises and decelerates.",
    ),
];
