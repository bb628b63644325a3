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
];
